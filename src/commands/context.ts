import { Config } from '../config';
import { EventMetadata, EventStore } from '../eventstore/types';
import { AccessTokens } from '../infra/jwt';
import { PasswordHasher } from '../infra/password-hasher';
import { LoginThrottle } from '../infra/rate-limits';
import { RevocationList } from '../infra/revocations';

/** What the use-cases need from the outside world; built once in src/system.ts. */
export interface CommandContext {
  config: Config;
  store: EventStore;
  hasher: PasswordHasher;
  revocations: RevocationList;
  accessTokens: AccessTokens;
  /** Failed sign-ins per account: progressive lockout, hourly cap. */
  loginThrottle: LoginThrottle;
  clock: () => Date;
}

/** Who did it, from where, as part of which request: carried by every event as metadata. */
export type RequestMeta = EventMetadata & { ip: string | null; userAgent: string | null; correlationId: string };
