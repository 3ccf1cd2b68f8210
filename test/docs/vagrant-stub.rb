# A stand-in for Vagrant's configuration API, just wide enough for the repository's Vagrantfile:
# it loads the file the way `vagrant` would (ARGV is the vagrant command, e.g. `up`) and prints the
# machines it defines as JSON, so test/docs/docs.test.ts can compare them with the cluster specs.
#   HARDWAY_VAGRANTFILE=Vagrantfile ruby test/docs/vagrant-stub.rb up
require "json"

# Records every setting made on it; nested namespaces (config.vm, config.ssh) are recorders too.
class Recorder
  attr_reader :settings

  def initialize
    @settings = {}
  end

  def method_missing(name, *args, &block)
    key = name.to_s
    if key.end_with?("=")
      @settings[key.chomp("=")] = args.first
    elsif args.empty? && block.nil?
      @settings[key] ||= Recorder.new
    else
      (@settings["#{key}()"] ||= []) << args
      nil
    end
  end

  def respond_to_missing?(_name, _include_private = false)
    true
  end

  def to_h
    @settings.transform_values { |value| value.is_a?(Recorder) ? value.to_h : value }
  end
end

# config.vm: knows `define` and `provider`, which take blocks Vagrant runs later.
class VmRecorder < Recorder
  attr_reader :machines, :providers

  def initialize
    super
    @machines = {}
    @providers = {}
  end

  def define(name, _options = {})
    machine = MachineRecorder.new
    yield machine
    @machines[name.to_s] = machine
  end

  def provider(name)
    provider = Recorder.new
    yield provider
    @providers[name.to_s] = provider.to_h
  end

  def network(type, options = {})
    (@settings["networks"] ||= []) << { "type" => type.to_s, "options" => options.transform_keys(&:to_s) }
  end

  def provision(type, options = {})
    (@settings["provisioners"] ||= []) << { "type" => type.to_s, "options" => options.transform_keys(&:to_s) }
  end

  def to_h
    super.merge("machines" => @machines.transform_values(&:to_h), "providers" => @providers)
  end
end

class MachineRecorder
  attr_reader :vm

  def initialize
    @vm = VmRecorder.new
  end

  def to_h
    @vm.to_h
  end
end

class ConfigRecorder
  attr_reader :vm

  def initialize
    @vm = VmRecorder.new
  end
end

module Vagrant
  @configs = []

  def self.configure(version)
    raise ArgumentError, "configuration version #{version.inspect}" unless version == "2"
    config = ConfigRecorder.new
    yield config
    @configs << config
  end

  def self.configs
    @configs
  end
end

load File.expand_path(ENV.fetch("HARDWAY_VAGRANTFILE"))
config = Vagrant.configs.fetch(0)
puts JSON.generate(
  "box" => config.vm.to_h["box"],
  "synced_folder" => config.vm.to_h["synced_folder()"],
  "machines" => config.vm.machines.map do |name, machine|
    settings = machine.to_h
    {
      "name" => name,
      "hostname" => settings["hostname"],
      "networks" => settings["networks"],
      "providers" => settings["providers"],
      "provisioners" => settings["provisioners"],
    }
  end,
)
