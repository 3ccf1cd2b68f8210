// Task module `encryption_config` (local): makes encryption-config.yaml once, with a random key,
// and never rotates it silently (a new key would make every stored Secret unreadable).
import { z } from 'zod';
import { checkEncryptionConfig, ENCRYPTION_CONFIG_FILE, renderEncryptionConfig } from '../pki/encryption-config.ts';
import { chmodClusterFile, KEY_MODE, modeOf, octal, readOptional, writeClusterFile } from '../pki/store.ts';
import { defineModule } from './module.ts';

/** Why: the data encryption key is made exactly once per cluster; the module only ever creates it. */
export const encryptionConfigModule = defineModule({
  name: 'encryption_config',
  where: 'local',
  summary: 'Make encryption-config.yaml (aescbc, random 32-byte key) once; never rotate it silently',
  args: z.strictObject({}),
  async check(ctx) {
    const text = await readOptional(ctx.run.clusterDir, ENCRYPTION_CONFIG_FILE);
    if (text === undefined) return { changed: true, reason: `create ${ENCRYPTION_CONFIG_FILE} with a random 32-byte aescbc key` };
    checkEncryptionConfig(text, ENCRYPTION_CONFIG_FILE);
    const mode = await modeOf(ctx.run.clusterDir, ENCRYPTION_CONFIG_FILE);
    if (mode !== KEY_MODE) return { changed: true, reason: `chmod 600 ${ENCRYPTION_CONFIG_FILE} (was ${octal(mode ?? 0)})` };
    return { changed: false, reason: 'using existing key (never rotated by hardway)' };
  },
  async apply(ctx, _args, check) {
    const exists = (await readOptional(ctx.run.clusterDir, ENCRYPTION_CONFIG_FILE)) !== undefined;
    if (exists) await chmodClusterFile(ctx.run.clusterDir, ENCRYPTION_CONFIG_FILE, KEY_MODE);
    else await writeClusterFile(ctx.run.clusterDir, ENCRYPTION_CONFIG_FILE, renderEncryptionConfig(), KEY_MODE);
    ctx.log(exists ? `chmod 600 ${ENCRYPTION_CONFIG_FILE}` : `created ${ENCRYPTION_CONFIG_FILE} (key not shown)`);
    return { changed: true, reason: check.reason };
  },
  describe() {
    return [
      'ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64)',
      // One command: an unquoted heredoc, so the shell puts the key in (it is never written here).
      [`cat > ${ENCRYPTION_CONFIG_FILE} <<EOF`, ...renderEncryptionConfig(Buffer.alloc(32)).trimEnd().split('\n').map((line) => line.replace(/secret: .*/, 'secret: ${ENCRYPTION_KEY}')), 'EOF'].join('\n'),
      `chmod 600 ${ENCRYPTION_CONFIG_FILE}`,
    ];
  },
});
