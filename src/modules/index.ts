// Every task module hardway ships, registered under the name playbooks use.
import { apiObjectsModule } from './api-objects.ts';
import { binariesModule } from './binaries.ts';
import { encryptionConfigModule } from './encryption.ts';
import { infraModule } from './infra.ts';
import { kubeconfigModule, workerKubeconfigsModule } from './kubeconfigs.ts';
import { ModuleRegistry, type TaskModule } from './module.ts';
import { nlbTargetsModule } from './nlb-targets.ts';
import { pkiModule } from './pki.ts';
import { remoteModules } from './remote-modules.ts';
import { verifyModule } from './verify.ts';

/** Why: one list of built-in modules, so a playbook's unknown module is caught at load time. */
export function builtinModules(): ModuleRegistry {
  const modules: TaskModule<any, any>[] = [infraModule, pkiModule, kubeconfigModule, workerKubeconfigsModule, encryptionConfigModule, binariesModule, nlbTargetsModule, apiObjectsModule, verifyModule, ...remoteModules()];
  return new ModuleRegistry(modules);
}
