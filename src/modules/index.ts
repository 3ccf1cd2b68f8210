// Every task module hardway ships, registered under the name playbooks use.
import { infraModule } from './infra.ts';
import { ModuleRegistry, type TaskModule } from './module.ts';

/** Why: one list of built-in modules, so a playbook's unknown module is caught at load time. */
export function builtinModules(): ModuleRegistry {
  const modules: TaskModule<any>[] = [infraModule];
  return new ModuleRegistry(modules);
}
