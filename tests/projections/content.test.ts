import { contentProjection } from '../../src/projections/content';
import { ContentEvent } from '../../src/events/content';
import { UserId } from '../../src/events/user';
import { eventLog, iso, uuid } from '../helpers/events';
import { projectionSpec } from '../helpers/projection-spec';

const spec = projectionSpec(contentProjection);

const PIECE = uuid('content', 1);
const AUTHOR = uuid('user', 1) as UserId;
const EDITOR = uuid('user', 2);

const created: ContentEvent = { type: 'ContentCreated', data: { title: 'Hello', body: 'First post', authorId: AUTHOR } };

describe('content projection', () => {
  it('ContentCreated: a live row with its author; created and updated by the actor', async () => {
    const log = eventLog();
    const e = log.content(PIECE, created, { actorId: EDITOR });
    await spec.given(e).then({
      content: [
        {
          id: PIECE,
          title: 'Hello',
          body: 'First post',
          author_id: AUTHOR,
          is_deleted: false,
          created_by: EDITOR,
          updated_by: EDITOR,
          created_at: e.createdAt,
          updated_at: e.createdAt,
        },
      ],
    });
  });

  it('ContentCreated without an actor in the metadata is by its author', async () => {
    const log = eventLog();
    await spec.given(log.content(PIECE, created)).then({ content: [{ created_by: AUTHOR, updated_by: AUTHOR }] });
  });

  it('ContentUpdated: only the fields that changed take new values; the editor and time are recorded', async () => {
    const log = eventLog();
    const c = log.content(PIECE, created, { actorId: AUTHOR });
    const retitled = log.content(PIECE, { type: 'ContentUpdated', data: { changes: { title: 'Hello again' } } }, { actorId: EDITOR });
    const rewritten = log.content(PIECE, { type: 'ContentUpdated', data: { changes: { body: 'Second draft' } } }, { actorId: AUTHOR });
    await spec.given(c, retitled).then({
      content: [
        {
          title: 'Hello again',
          body: 'First post',
          created_by: AUTHOR,
          created_at: c.createdAt,
          updated_by: EDITOR,
          updated_at: retitled.createdAt,
        },
      ],
    });
    await spec
      .given(c, retitled, rewritten)
      .then({ content: [{ title: 'Hello again', body: 'Second draft', updated_by: AUTHOR, updated_at: rewritten.createdAt }] });
  });

  it('ContentDeleted: the row stays, marked deleted (reads filter it), with who deleted it', async () => {
    const log = eventLog();
    const c = log.content(PIECE, created);
    const d = log.content(PIECE, { type: 'ContentDeleted', data: { at: iso(2) } }, { actorId: EDITOR });
    await spec
      .given(c, d)
      .then({ content: [{ id: PIECE, title: 'Hello', is_deleted: true, updated_by: EDITOR, updated_at: d.createdAt }] });
  });
});
