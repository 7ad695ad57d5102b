/**
 * Subjects of one mqft stream. Every command of a transfer goes to `ft.<stream>.cmd.<key>`;
 * the stream's name is part of the subject because two JetStream streams may not share
 * subjects, and test runs (or two mqft deployments on one NATS) each have their own stream.
 * Events (core NATS, not stored) go to `ft.<stream>.events.<key>`; transfer outcomes (stored in
 * the outcome stream, docs/events.md) to `ft.<stream>.outcomes.<key>`, and the outcomes the
 * webhook gave up on to `ft.<stream>.webhook.dead.<key>`.
 */
export function commandSubject(stream: string, key: string): string {
  return `ft.${stream}.cmd.${key}`;
}

export function commandSubjects(stream: string): string {
  return `ft.${stream}.cmd.>`;
}

export function eventSubject(stream: string, key: string): string {
  return `ft.${stream}.events.${key}`;
}

export function eventSubjects(stream: string): string {
  return `ft.${stream}.events.>`;
}

export function outcomeSubject(stream: string, key: string): string {
  return `ft.${stream}.outcomes.${key}`;
}

export function outcomeSubjects(stream: string): string {
  return `ft.${stream}.outcomes.>`;
}

export function deadLetterSubject(stream: string, key: string): string {
  return `ft.${stream}.webhook.dead.${key}`;
}

export function deadLetterSubjects(stream: string): string {
  return `ft.${stream}.webhook.dead.>`;
}

/** The transfer key of a command or event subject of this stream, else undefined. */
export function keyOfSubject(stream: string, subject: string): string | undefined {
  for (const root of [`ft.${stream}.cmd.`, `ft.${stream}.events.`]) {
    if (subject.startsWith(root)) return subject.slice(root.length);
  }
  return undefined;
}

const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Stream names become subject tokens, so they are restricted more than NATS requires. */
export function assertStreamName(name: string): void {
  if (!STREAM_NAME.test(name)) {
    throw new Error(`MQFT_STREAM=${JSON.stringify(name)}: expected 1–64 of A–Z a–z 0–9 _ -`);
  }
}
