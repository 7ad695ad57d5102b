import { ApiError, type Api, type TransferPage } from './api.js';
import { TransferRow, type RowActions } from './rows.js';
import {
  STATES,
  isNewer,
  matchesFilter,
  rowKey,
  type Transfer,
  type TransferFilter,
  type TransferState,
} from './transfer.js';

/** Rows a page shows: the page is all the DOM ever holds, whatever the fleet's size. */
export const PAGE_SIZE = 50;
/** Reconnection delay of the event stream when the server did not say (`retry:`). */
const RETRY_MS = 2_000;
/** How long an armed Abort button waits for the confirming click. */
const ARMED_MS = 5_000;

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/**
 * The transfers list: one page from the server (page tokens; Previous walks back the tokens
 * seen), kept live by the event stream — rows on the page are updated in place, a transfer
 * created after the page's last one is appended while the last page has room, else counted
 * in a notice.
 */
export class ConsoleView {
  private filter: TransferFilter = { client: '', state: '' };
  private readonly tokens: string[] = [''];
  private pageIndex = 0;
  private nextToken: string | undefined;
  private rows = new Map<string, TransferRow>();
  /** Creation time of the page's last row: later transfers belong after it. */
  private pageEnd = -Infinity;
  private readonly after = new Set<string>();
  private readonly pending = new Map<string, Transfer>();
  private flushScheduled = false;
  /** Events that arrive while a page is loading, applied once it is shown. */
  private duringLoad: Map<string, Transfer> | undefined;
  private generation = 0;
  private stream: AbortController | undefined;
  private stopped = false;

  private readonly el = {
    console: byId('console'),
    live: byId('live'),
    filters: byId<HTMLFormElement>('filters'),
    client: byId<HTMLInputElement>('filter-client'),
    state: byId<HTMLSelectElement>('filter-state'),
    summary: byId('summary'),
    rows: byId('rows'),
    empty: byId('empty'),
    error: byId('error'),
    notice: byId('notice'),
    noticeText: byId('notice-text'),
    reload: byId<HTMLButtonElement>('reload'),
    prev: byId<HTMLButtonElement>('prev'),
    next: byId<HTMLButtonElement>('next'),
    page: byId('page'),
  };
  private readonly listeners = new AbortController();

  private readonly actions: RowActions = {
    download: (t, button) => void this.download(t, button),
    abort: (t, button) => void this.abort(t, button),
  };

  constructor(
    private readonly api: Api,
    private readonly onUnauthorized: (err: ApiError) => void,
  ) {}

  start(): void {
    const { el } = this;
    const on = { signal: this.listeners.signal };
    if (el.state.options.length === 1)
      for (const state of STATES) el.state.append(new Option(state, state));
    el.filters.addEventListener('submit', (e) => (e.preventDefault(), this.applyFilter()), on);
    el.state.addEventListener('change', () => this.applyFilter(), on);
    el.prev.addEventListener('click', () => this.goTo(this.pageIndex - 1), on);
    el.next.addEventListener('click', () => this.goTo(this.pageIndex + 1), on);
    el.reload.addEventListener('click', () => void this.load(), on);
    el.console.hidden = false;
    el.live.hidden = false;
    void this.load();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.stream?.abort();
    this.listeners.abort();
    this.el.rows.replaceChildren();
    this.rows.clear();
  }

  // --- the page ---

  private applyFilter(): void {
    const next: TransferFilter = {
      client: this.el.client.value.trim(),
      state: this.el.state.value as TransferState | '',
    };
    const reconnect = next.client !== this.filter.client;
    this.filter = next;
    this.tokens.length = 1;
    this.pageIndex = 0;
    void this.load();
    if (reconnect) this.connect();
  }

  private goTo(index: number): void {
    if (index < 0) return;
    if (index > this.pageIndex) {
      if (this.nextToken === undefined) return;
      this.tokens[index] = this.nextToken;
    }
    this.pageIndex = index;
    void this.load();
  }

  private async load(): Promise<void> {
    const generation = ++this.generation;
    const during = new Map<string, Transfer>();
    this.duringLoad = during;
    this.el.prev.disabled = this.el.next.disabled = true;
    let page: TransferPage;
    try {
      page = await this.api.list(this.filter, PAGE_SIZE, this.tokens[this.pageIndex] ?? '');
    } catch (err) {
      if (generation === this.generation) {
        this.duringLoad = undefined;
        this.renderPager();
        this.fail(err, 'Listing the transfers failed');
      }
      return;
    }
    if (generation !== this.generation) return;
    this.duringLoad = undefined;
    this.render(page);
    for (const t of during.values()) this.onTransfer(t);
  }

  private render(page: TransferPage): void {
    const kept = new Map<string, TransferRow>();
    for (const t of page.transfers) {
      const key = rowKey(t);
      let row = this.rows.get(key);
      if (row === undefined) row = new TransferRow(t, this.actions);
      else if (isNewer(t, row.current)) row.update(t);
      kept.set(key, row);
    }
    this.rows = kept;
    this.el.rows.replaceChildren(...[...kept.values()].map((row) => row.tr));
    const last = page.transfers.at(-1);
    this.pageEnd = last ? Date.parse(last.created_at) : -Infinity;
    this.nextToken = page.next_page_token;
    this.after.clear();
    this.el.error.hidden = true;
    this.renderPager();
    this.renderNotice();
  }

  private renderPager(): void {
    const { el } = this;
    el.prev.disabled = this.pageIndex === 0;
    el.next.disabled = this.nextToken === undefined;
    el.page.textContent = `Page ${this.pageIndex + 1}`;
    el.empty.hidden = this.rows.size > 0;
    // A sparse state filter may end a page at the API's scan budget before finding any.
    el.empty.textContent =
      this.nextToken === undefined
        ? 'No transfers match.'
        : 'None of the transfers looked at so far match: Next → searches on.';
    const shown = this.rows.size;
    el.summary.textContent = `${shown} transfer${shown === 1 ? '' : 's'} on this page`;
  }

  private renderNotice(): void {
    const count = this.after.size;
    this.el.notice.hidden = count === 0;
    this.el.noticeText.textContent =
      this.nextToken === undefined
        ? `${count} new transfer${count === 1 ? '' : 's'} after this page.`
        : `${count} transfer${count === 1 ? '' : 's'} on later pages changed.`;
  }

  // --- live ---

  private connect(): void {
    this.stream?.abort();
    const controller = new AbortController();
    this.stream = controller;
    const filter = { ...this.filter };
    const { signal } = controller;
    void (async () => {
      let first = true;
      while (!signal.aborted) {
        this.setLive(first ? 'connecting' : 'reconnecting');
        let retryMs = RETRY_MS;
        try {
          retryMs =
            (await this.api.events(filter, signal, {
              onReady: () => {
                this.setLive('live');
                // Changes between the last listing and this subscription: list again.
                void this.load();
                first = false;
              },
              onTransfer: (t) => this.onTransfer(t),
            })) ?? RETRY_MS;
        } catch (err) {
          if (signal.aborted) return;
          if (err instanceof ApiError && err.unauthorized) return this.onUnauthorized(err);
        }
        if (signal.aborted) return;
        first = false;
        this.setLive('reconnecting');
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          signal.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)));
        });
      }
    })();
  }

  private setLive(state: 'connecting' | 'live' | 'reconnecting'): void {
    if (this.stopped) return;
    this.el.live.dataset.state = state;
    this.el.live.textContent = state === 'live' ? 'live' : `${state}…`;
  }

  private onTransfer(t: Transfer): void {
    const key = rowKey(t);
    this.duringLoad?.set(key, t);
    if (this.rows.has(key)) {
      this.pending.set(key, t);
      this.scheduleFlush();
      return;
    }
    if (this.duringLoad !== undefined || !matchesFilter(t, this.filter)) return;
    if (Date.parse(t.created_at) < this.pageEnd) return;
    if (this.nextToken === undefined && this.rows.size < PAGE_SIZE) {
      const row = new TransferRow(t, this.actions);
      this.rows.set(key, row);
      this.el.rows.append(row.tr);
      this.pageEnd = Date.parse(t.created_at);
      this.renderPager();
      return;
    }
    this.after.add(key);
    this.renderNotice();
  }

  /** Updates are applied once a frame: a busy fleet redraws each row at most that often. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    requestAnimationFrame(() => {
      this.flushScheduled = false;
      for (const [key, t] of this.pending) {
        const row = this.rows.get(key);
        if (row && isNewer(t, row.current)) {
          row.update(t);
          row.tr.classList.toggle('stale', !matchesFilter(t, this.filter));
        }
      }
      this.pending.clear();
    });
  }

  // --- actions ---

  private async download(t: Transfer, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    button.textContent = 'Downloading…';
    try {
      const got = await this.api.download(t);
      const link = document.createElement('a');
      link.download = t.name !== '' ? t.name : t.file_id;
      if ('blob' in got) {
        const url = URL.createObjectURL(got.blob);
        link.href = url;
        link.click();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } else {
        link.href = got.url;
        link.rel = 'noopener';
        link.click();
      }
    } catch (err) {
      this.fail(err, `Downloading ${t.name || t.file_id} failed`);
    } finally {
      button.disabled = false;
      button.textContent = 'Download';
    }
  }

  /** The first click arms the button, the second (within a few seconds) aborts. */
  private async abort(t: Transfer, button: HTMLButtonElement): Promise<void> {
    if (button.dataset.armed !== 'true') {
      button.dataset.armed = 'true';
      button.classList.add('armed');
      button.textContent = 'Confirm abort';
      setTimeout(() => {
        if (button.dataset.armed !== 'true' || button.disabled) return;
        delete button.dataset.armed;
        button.classList.remove('armed');
        button.textContent = 'Abort';
      }, ARMED_MS);
      return;
    }
    delete button.dataset.armed;
    button.disabled = true;
    button.textContent = 'Aborting…';
    try {
      this.onTransfer(await this.api.abort(t));
    } catch (err) {
      this.fail(err, `Aborting ${t.file_id} failed`);
    } finally {
      button.disabled = false;
      button.classList.remove('armed');
      button.textContent = 'Abort';
    }
  }

  private fail(err: unknown, what: string): void {
    if (err instanceof ApiError && err.unauthorized) return this.onUnauthorized(err);
    const detail = err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
    this.el.error.textContent = `${what}: ${detail}`;
    this.el.error.hidden = false;
  }
}
