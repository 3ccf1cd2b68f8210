// Every task module hardway ships, registered under the name playbooks use.
import { binariesModule } from './binaries.ts';
import { encryptionConfigModule } from './encryption.ts';
import { infraModule } from './infra.ts';
import { kubeconfigModule } from './kubeconfigs.ts';
import { loadBalancerModule } from './loadbalancer.ts';
import { ModuleRegistry, type TaskModule } from './module.ts';
import { pkiModule } from './pki.ts';
import { remoteModules } from './remote-modules.ts';
import { verifyModule } from './verify.ts';

/** Why: one list of built-in modules, so a playbook's unknown module is caught at load time. */
export function builtinModules(): ModuleRegistry {
  const modules: TaskModule<any>[] = [infraModule, pkiModule, kubeconfigModule, encryptionConfigModule, binariesModule, loadBalancerModule, verifyModule, ...remoteModules()];
  return new ModuleRegistry(modules);
}
