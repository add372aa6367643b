import { randomUUID } from 'node:crypto';
import { CommandContext, RequestMeta } from '../context';
import { handle } from '../handle';
import { ContentActor, contentDecider } from './decider';
import { ContentChanges, ContentId, contentStream } from '../../events/content';
import { Position } from '../../eventstore/types';

/** Content CRUD. Who may do what is decided by the content decider from the actor's role and id. */
export async function createContent(
  ctx: CommandContext,
  actor: ContentActor,
  input: { title: string; body: string },
  meta: RequestMeta,
): Promise<{ id: ContentId; position: Position | null }> {
  const id = randomUUID() as ContentId;
  const r = await handle(ctx.store, contentStream(id), contentDecider, { type: 'CreateContent', ...actor, ...input }, meta);
  return { id, position: r.position };
}

export async function updateContent(
  ctx: CommandContext,
  id: string,
  actor: ContentActor,
  changes: ContentChanges,
  meta: RequestMeta,
): Promise<Position | null> {
  return (await handle(ctx.store, contentStream(id), contentDecider, { type: 'UpdateContent', ...actor, changes }, meta)).position;
}

/** Soft delete: the stream stays, the piece leaves the lists. */
export async function deleteContent(ctx: CommandContext, id: string, actor: ContentActor, meta: RequestMeta): Promise<Position | null> {
  return (
    await handle(ctx.store, contentStream(id), contentDecider, { type: 'DeleteContent', ...actor, now: ctx.clock().toISOString() }, meta)
  ).position;
}
