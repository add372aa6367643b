import { Knex } from 'knex';
import { contentIdOf } from '../events/content';
import { unhandled } from '../events/registry';
import { projection } from './projection';

/** The `content` read table. Soft-deleted rows stay (is_deleted) and are filtered by the reads. */
export interface ContentRow {
  id: string;
  title: string;
  body: string;
  author_id: string;
  is_deleted: boolean;
  created_by: string | null;
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export const contentProjection = projection({
  name: 'content',
  version: 1,
  tables: ['content'],
  async setup(db) {
    // Lists only show live rows, so the sort indexes are partial.
    await db.raw(`
      CREATE TABLE IF NOT EXISTS content (
        id uuid PRIMARY KEY,
        title text NOT NULL,
        body text NOT NULL,
        author_id uuid NOT NULL,
        is_deleted boolean NOT NULL DEFAULT false,
        created_by uuid,
        updated_by uuid,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS content_created_at_idx ON content (created_at, id) WHERE NOT is_deleted;
      CREATE INDEX IF NOT EXISTS content_updated_at_idx ON content (updated_at, id) WHERE NOT is_deleted;
      CREATE INDEX IF NOT EXISTS content_title_idx ON content (title, id) WHERE NOT is_deleted;
      CREATE INDEX IF NOT EXISTS content_author_idx ON content (author_id, created_at) WHERE NOT is_deleted;
    `);
  },
  handles: ['ContentCreated', 'ContentUpdated', 'ContentDeleted'],
  async apply(e, trx) {
    const id = contentIdOf(e.streamId);
    const actor = e.metadata.actorId ?? null;
    const touch = { updated_at: e.createdAt, updated_by: actor };
    switch (e.type) {
      case 'ContentCreated':
        await trx('content')
          .insert({
            id,
            title: e.data.title,
            body: e.data.body,
            author_id: e.data.authorId,
            created_by: actor ?? e.data.authorId,
            updated_by: actor ?? e.data.authorId,
            created_at: e.createdAt,
            updated_at: e.createdAt,
          })
          .onConflict('id')
          .ignore();
        return;
      case 'ContentUpdated':
        await trx('content')
          .where({ id })
          .update({ ...e.data.changes, ...touch });
        return;
      case 'ContentDeleted':
        await trx('content')
          .where({ id })
          .update({ is_deleted: true, ...touch });
        return;
      default:
        return unhandled(e);
    }
  },
});

export type ContentWithAuthor = ContentRow & { author_email: string | null; author_name: string | null };

/** Content as the API returns it, with its author. */
export const presentContent = (c: ContentWithAuthor) => ({
  id: c.id,
  title: c.title,
  body: c.body,
  authorId: c.author_id,
  author: { id: c.author_id, email: c.author_email, name: c.author_name },
  isDeleted: c.is_deleted,
  createdAt: c.created_at,
  updatedAt: c.updated_at,
  createdBy: c.created_by,
  updatedBy: c.updated_by,
});

export type PresentedContent = ReturnType<typeof presentContent>;

/** Live content with its author's email and display name joined in. */
export const liveContent = (db: Knex): Knex.QueryBuilder =>
  db('content as c')
    .leftJoin('users as u', 'u.id', 'c.author_id')
    .where('c.is_deleted', false)
    .select(
      'c.*',
      'u.email as author_email',
      db.raw(`coalesce(u.name, nullif(concat_ws(' ', u.first_name, u.last_name), '')) as author_name`),
    );

export const findLiveContent = async (db: Knex, id: string): Promise<ContentWithAuthor | undefined> =>
  (await liveContent(db).where('c.id', id).first()) as ContentWithAuthor | undefined;
