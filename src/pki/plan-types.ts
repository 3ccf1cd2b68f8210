// The shapes of a PKI plan (plan.ts decides them, apply.ts carries them out, reissue.ts and
// keypair-plan.ts fill in parts): kept apart so those files need not import each other.
import type { Inventory } from '../inventory/node.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import type { SigningProfile } from './ca-config.ts';
import type { CatalogEntry } from './catalog.ts';
import type { CertRequest } from './csr-json.ts';
import type { GeneratedRecord } from './generated-record.ts';

/** What the PKI code needs from a run: no listr2, no transports, so the CLI and bench use it too. */
export interface PkiEnv {
  clusterDir: string;
  spec: ClusterSpec;
  inventory: Inventory;
  now: Date;
}

/** A JSON input (ca-config.json, a CSR JSON) and whether hardway writes it. */
export interface JsonPlan {
  file: string;
  text: string;
  /** generated: from cluster.yaml; file: a person's (or cfssl's) file, honoured as written. */
  source: 'generated' | 'file';
  write: boolean;
  reason: string;
}

export type CertAction = 'reuse' | 'create-ca' | 'self-sign-ca' | 'issue' | 'create-keypair' | 'write-public-key';

export interface CertPlan {
  entry: CatalogEntry;
  /** Undefined for the service-account key pair (it has no CSR JSON). */
  request: CertRequest | undefined;
  csrJson: JsonPlan | undefined;
  /** Leaves: the signing profile from ca-config.json. */
  profile: SigningProfile | undefined;
  action: CertAction;
  reason: string;
}

export interface ModeFix {
  file: string;
  from: number;
  to: number;
}

/** The outcome of planPki: all apply needs, and all check reports. */
export interface PkiPlan {
  env: PkiEnv;
  caConfig: JsonPlan | undefined;
  certs: CertPlan[];
  modeFixes: ModeFix[];
  /** Things a person should know that change nothing: an edited CSR JSON honoured, a CA near expiry. */
  notes: string[];
  record: GeneratedRecord;
}

export interface PlanOptions {
  /** Catalogue names or `*` patterns; all when undefined. */
  names?: readonly string[];
  /** Leaves to reissue whatever their state (`hardway pki renew`). */
  force?: ReadonlySet<string>;
}
