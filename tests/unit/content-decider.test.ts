import { contentDecider, ContentCommand } from '../../src/commands/content/decider';
import { ContentEvent } from '../../src/events/content';
import { Role, UserId } from '../../src/events/user';
import { deciderSpec } from './decider-spec';

const given = deciderSpec(contentDecider);

type EventOf<T extends ContentEvent['type']> = Extract<ContentEvent, { type: T }>;

const ADMIN = '00000000-0000-4000-8000-00000000000a' as UserId;
const AUTHOR = '00000000-0000-4000-8000-00000000000b' as UserId;
const OTHER_EDITOR = '00000000-0000-4000-8000-00000000000c' as UserId;
const VIEWER = '00000000-0000-4000-8000-00000000000d' as UserId;
const NOW = '2030-01-01T00:00:00.000Z';

const actors: Record<string, { actorId: UserId; actorRole: Role }> = {
  admin: { actorId: ADMIN, actorRole: 'admin' },
  author: { actorId: AUTHOR, actorRole: 'editor' },
  otherEditor: { actorId: OTHER_EDITOR, actorRole: 'editor' },
  viewer: { actorId: VIEWER, actorRole: 'viewer' },
  /** The author after being demoted: authorship alone grants nothing. */
  demotedAuthor: { actorId: AUTHOR, actorRole: 'viewer' },
};

const created: EventOf<'ContentCreated'> = { type: 'ContentCreated', data: { title: 'Hello', body: 'World', authorId: AUTHOR } };
const deleted: EventOf<'ContentDeleted'> = { type: 'ContentDeleted', data: { at: NOW } };

const create = (who: keyof typeof actors): ContentCommand => ({ type: 'CreateContent', title: 'Hello', body: 'World', ...actors[who] });
const update = (who: keyof typeof actors, changes: { title?: string; body?: string } = { title: 'Hi' }): ContentCommand => ({
  type: 'UpdateContent',
  changes,
  ...actors[who],
});
const remove = (who: keyof typeof actors): ContentCommand => ({ type: 'DeleteContent', now: NOW, ...actors[who] });

describe('content decider', () => {
  describe('create', () => {
    it('lets admins and editors create, as the author', () => {
      given([]).when(create('author')).then([created]);
      given([])
        .when(create('admin'))
        .then([{ ...created, data: { ...created.data, authorId: ADMIN } }]);
    });

    it('refuses viewers', () => {
      given([]).when(create('viewer')).then('FORBIDDEN');
    });

    it('refuses to create twice on one stream', () => {
      given([created]).when(create('author')).then('CONFLICT');
    });
  });

  describe('update', () => {
    it('lets the author (an editor) edit their own content, recording only what changed', () => {
      given([created])
        .when(update('author', { title: 'Hi', body: 'World' }))
        .then([{ type: 'ContentUpdated', data: { changes: { title: 'Hi' } } }]);
    });

    it('lets an admin edit anyone’s content', () => {
      given([created])
        .when(update('admin', { body: 'Edited' }))
        .then([{ type: 'ContentUpdated', data: { changes: { body: 'Edited' } } }]);
    });

    it('refuses another editor and any viewer', () => {
      given([created]).when(update('otherEditor')).then('FORBIDDEN');
      given([created]).when(update('viewer')).then('FORBIDDEN');
      given([created]).when(update('demotedAuthor')).then('FORBIDDEN');
    });

    it('decides nothing when nothing changes', () => {
      given([created])
        .when(update('author', { title: 'Hello' }))
        .then([]);
    });

    it('evolves edits: a later edit compares against the latest values', () => {
      const history = given([created])
        .when(update('author', { title: 'Hi' }))
        .then([{ type: 'ContentUpdated', data: { changes: { title: 'Hi' } } }]);
      given(history)
        .when(update('admin', { title: 'Hi' }))
        .then([]);
    });

    it('is 404 for missing or deleted content (but a viewer is refused first, learning nothing)', () => {
      given([]).when(update('admin')).then('NOT_FOUND');
      given([created, deleted]).when(update('author')).then('NOT_FOUND');
      given([]).when(update('viewer')).then('FORBIDDEN');
    });
  });

  describe('delete', () => {
    it('soft-deletes for the author or an admin', () => {
      given([created]).when(remove('author')).then([deleted]);
      given([created]).when(remove('admin')).then([deleted]);
    });

    it('refuses another editor and viewers', () => {
      given([created]).when(remove('otherEditor')).then('FORBIDDEN');
      given([created]).when(remove('viewer')).then('FORBIDDEN');
    });

    it('deletes once: a deleted piece is not found', () => {
      const history = given([created]).when(remove('author')).then([deleted]);
      given(history).when(remove('admin')).then('NOT_FOUND');
    });
  });
});
