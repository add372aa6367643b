import { apiKeyIdOf, apiKeyStream } from '../../src/events/api-key';
import { contentIdOf, contentStream } from '../../src/events/content';
import { permissionIdOf, permissionStream, userGrantsStream, userIdOfGrants } from '../../src/events/permission';
import { serviceIdOf, serviceStream } from '../../src/events/service';
import { sessionIdOf, sessionStream } from '../../src/events/session';
import { userIdOf, userStream } from '../../src/events/user';

const ID = '6f1c1f52-0d7e-4a39-9a43-0a4c3f2f9b10';

describe('stream names', () => {
  it('read back the id each builder put in', () => {
    const pairs: [(id: string) => string, (stream: string) => string][] = [
      [userStream, userIdOf],
      [sessionStream, sessionIdOf],
      [apiKeyStream, apiKeyIdOf],
      [contentStream, contentIdOf],
      [serviceStream, serviceIdOf],
      [permissionStream, permissionIdOf],
      [userGrantsStream, userIdOfGrants],
    ];
    for (const [build, read] of pairs) expect(read(build(ID))).toBe(ID);
  });

  it("refuse another category's name instead of slicing a wrong id out of it", () => {
    // `userGrants-…` starts with `user` but is not a user stream.
    expect(() => userIdOf(userGrantsStream(ID))).toThrow(`userGrants-${ID} is not a user-<id> stream`);
    expect(() => sessionIdOf(userStream(ID))).toThrow('is not a session-<id> stream');
    expect(() => userIdOfGrants(userStream(ID))).toThrow('is not a userGrants-<id> stream');
  });
});
