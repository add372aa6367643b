/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per package, so a
 * report can say where the app's main thread spends its CPU.
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  topFunctions: SelfTime[];
  byPackage: { name: string; ms: number; share: number }[];
}

const packageOf = (url: string, root: string): string => {
  if (!url) return '(native/V8)';
  const p = url.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = p.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (p.startsWith('node:') || !p.startsWith('/'))
    return `node:${p
      .replace(/^node:/, '')
      .split('/')
      .slice(0, 2)
      .join('/')}`;
  const rel = path.relative(root, p);
  return rel.startsWith('dist') ? `app:${rel.split('/').slice(1, 2).join('/')}` : rel;
};

export function summariseProfile(file: string, root: string, top = 25): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  prof.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const pkg = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const cf = n.callFrame;
    total += us;
    if (cf.functionName === '(idle)') idle += us;
    const where = cf.url ? `${path.relative(root, cf.url.replace(/^file:\/\//, '')) || cf.url}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName}@${where}`;
    const e = fn.get(key) ?? { name: cf.functionName || '(anonymous)', where, us: 0 };
    e.us += us;
    fn.set(key, e);
    const p =
      cf.functionName === '(idle)' ? '(idle)' : cf.functionName === '(garbage collector)' ? '(garbage collector)' : packageOf(cf.url, root);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  const busy = Math.max(total - idle, 1);
  return {
    file,
    totalMs: Math.round(total / 1000),
    idleMs: Math.round(idle / 1000),
    topFunctions: [...fn.values()]
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: Math.round(f.us / 1000), share: Math.round((1000 * f.us) / busy) / 10 })),
    byPackage: [...pkg.entries()]
      .filter(([n]) => n !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: Math.round((1000 * us) / busy) / 10 })),
  };
}
