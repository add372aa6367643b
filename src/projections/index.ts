import { Projection } from './projection';
import { apiKeysProjection } from './api-keys';
import { auditProjection } from './audit';
import { contentProjection } from './content';
import { permissionsProjection } from './permissions';
import { profileHistoryProjection } from './profile-history';
import { servicesProjection } from './services';
import { sessionsProjection } from './sessions';
import { usersProjection } from './users';

/** Every read model, in one list: the projector runs them, replay rebuilds them, reads wait on them. */
export const PROJECTIONS: readonly Projection[] = [
  usersProjection,
  sessionsProjection,
  profileHistoryProjection,
  contentProjection,
  apiKeysProjection,
  auditProjection,
  servicesProjection,
  permissionsProjection,
];
