// Preloaded into the services (NODE_OPTIONS=--import) by `pnpm bench --cpu-prof <dir>`:
// Node 20 refuses --cpu-prof in NODE_OPTIONS, so this starts the V8 profiler through the
// inspector and writes <dir>/<script>-<pid>.cpuprofile when the process exits. Everything in
// the exit hook is synchronous (an in-process inspector session answers post() before it
// returns); the directory is made here, as a write into a missing one would fail silently at exit.
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  fs.mkdirSync(dir, { recursive: true });
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) {
        process.stderr.write(`cpu-prof: profiler did not stop: ${err.message}\n`);
        return;
      }
      const script = path.basename(process.argv[1] || 'node').replace(/\.[cm]?js$/, '');
      const file = path.join(dir, `${script}-${process.pid}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
