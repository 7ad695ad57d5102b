// A service's ops endpoints (/readyz, /metrics) as tests read them: a failed request is an
// answer too (status 0, or no sample), so a test can wait for a service to come or go.

/** GET /readyz: status and body (status 0 when nothing answers). */
export async function readiness(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}

/** The value of one sample of a service's /metrics (undefined when absent or unreachable). */
export async function metricValue(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  let text: string;
  try {
    text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const sample = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => sample[k] === v)) return Number(match[3]);
  }
  return undefined;
}
