import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/** The files a newcomer, a packager or a security researcher looks for first. */
describe('repository files', () => {
  it('LICENSE is the MIT licence package.json names, for the iam-es contributors', () => {
    expect((JSON.parse(read('package.json')) as { license: string }).license).toBe('MIT');
    const license = read('LICENSE');
    expect(license.split('\n')[0]).toBe('MIT License');
    expect(license).toMatch(/^Copyright \(c\) \d{4} the iam-es contributors$/m);
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });

  it('SECURITY.md holds the reporting policy; the README links to it instead of repeating it', () => {
    const policy = read('SECURITY.md');
    expect(policy).toMatch(/^## Reporting a vulnerability$/m);
    expect(policy).toMatch(/private security advisory/);
    const readme = read('README.md');
    expect(readme).toContain('[SECURITY.md](SECURITY.md)');
    expect(readme).not.toMatch(/private security\s+advisory/);
  });

  it('CHANGELOG.md keeps an Unreleased section in the Keep a Changelog format, with entries', () => {
    const changelog = read('CHANGELOG.md');
    expect(changelog).toContain('[Keep a Changelog](https://keepachangelog.com/');
    const unreleased = /^## \[Unreleased\]\n([\s\S]*?)^## \[/m.exec(changelog)?.[1] ?? '';
    const sections = [...unreleased.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
    expect(sections.every((s) => ['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security'].includes(s))).toBe(true);
    expect(unreleased).toMatch(/^- \S/m);
  });
});
