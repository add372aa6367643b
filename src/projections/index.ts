import { Projection } from './projection';
import { profileHistoryProjection } from './profile-history';
import { sessionsProjection } from './sessions';
import { usersProjection } from './users';

/** Every read model, in one list: the projector runs them, replay rebuilds them, reads wait on them. */
export const PROJECTIONS: readonly Projection[] = [usersProjection, sessionsProjection, profileHistoryProjection];
