// Preloaded into the services (NODE_OPTIONS=--import) by `pnpm bench --cpu-prof <dir>`:
// Node 20 refuses --cpu-prof in NODE_OPTIONS, so this starts the V8 profiler through the
// inspector and writes <dir>/<script>-<pid>.cpuprofile when the process exits (the inspector
// answers Profiler.stop synchronously, so the exit hook can write; the directory is created).
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      const name = `${path.basename(process.argv[1] || 'node', '.mjs')}-${process.pid}.cpuprofile`;
      fs.writeFileSync(path.join(dir, name), JSON.stringify(result.profile));
    });
  });
}
