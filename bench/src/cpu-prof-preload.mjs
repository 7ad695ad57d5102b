// Preloaded into the services (NODE_OPTIONS=--import) by `pnpm bench --cpu-prof <dir>`:
// Node 20 refuses --cpu-prof in NODE_OPTIONS, so this starts the V8 profiler through the
// inspector and writes <dir>/<script>-<pid>.cpuprofile (creating <dir>) at the first SIGTERM or
// SIGINT — before the service's graceful stop, which the bench cuts short with SIGKILL after
// 5 s — or at exit. The inspector answers Profiler.stop synchronously, so both can write.
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (err, result) => {
      if (err) {
        process.stderr.write(`cpu-prof: profiler did not stop: ${err.message}\n`);
        return;
      }
      fs.mkdirSync(dir, { recursive: true });
      const script = path.basename(process.argv[1] || 'node').replace(/\.[cm]?js$/, '');
      fs.writeFileSync(
        path.join(dir, `${script}-${process.pid}.cpuprofile`),
        JSON.stringify(result.profile),
      );
    });
  };
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      write();
      // Without a handler of its own the process would have ended: let the signal do that.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
  process.on('exit', write);
}
