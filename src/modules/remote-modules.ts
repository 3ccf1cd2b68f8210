// The task modules that run on nodes over SSH (DESIGN §4), for the registry in index.ts.
import { commandModule } from './command.ts';
import { copyModule } from './copy.ts';
import { directoryModule } from './directory.ts';
import { drainModule, uncordonModule } from './drain.ts';
import { etcHostsModule } from './etc-hosts.ts';
import { factsModule } from './facts.ts';
import { hostnameModule } from './hostname.ts';
import { imageModule } from './image.ts';
import type { TaskModule } from './module.ts';
import { serviceModule } from './service.ts';
import { templateModule } from './template.ts';
import { waitModule } from './wait.ts';

/** Why: one list the registry spreads in, so adding a remote module is one line here. */
export function remoteModules(): TaskModule<any, any>[] {
  return [directoryModule, copyModule, templateModule, serviceModule, commandModule, waitModule, hostnameModule, etcHostsModule, factsModule, imageModule, drainModule, uncordonModule];
}
