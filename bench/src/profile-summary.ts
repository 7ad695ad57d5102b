// `tsx src/profile-summary.ts <file.cpuprofile>…`: self time by function and by package of
// V8 CPU profiles (from `pnpm bench --cpu-prof <dir>`), to see where a service spends a core.
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] ?? url;
  if (url.startsWith('node:')) return url;
  const src = /(packages|services)\/[^/]+/.exec(url);
  return src ? src[0] : url === '' ? '(native/gc/idle)' : url.replace(/^.*\//, '');
}

function top(map: Map<string, number>, total: number, n: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}

for (const file of process.argv.slice(2)) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') return;
    total += dt;
    const fn = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
    byPlace.set(where(url), (byPlace.get(where(url)) ?? 0) + dt);
  });
  console.log(`\n# ${file}: ${(total / 1e6).toFixed(2)} s on CPU (idle excluded)`);
  console.log('## by package\n' + top(byPlace, total, 12).join('\n'));
  console.log('## by function (self time)\n' + top(byFunction, total, 15).join('\n'));
}
