import { formatBytes, formatRanges, formatTime } from './format.js';
import {
  expectedSize,
  isDownloadable,
  isInFlight,
  percentDone,
  rowKey,
  type Transfer,
} from './transfer.js';

/** What a row's buttons do. */
export interface RowActions {
  download(t: Transfer, button: HTMLButtonElement): void;
  abort(t: Transfer, button: HTMLButtonElement): void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = '',
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== '') node.className = className;
  if (text !== '') node.textContent = text;
  return node;
}

/**
 * One transfer's table row, updated in place as its events arrive (only the cells whose
 * content changed are touched, so a busy fleet costs little).
 */
export class TransferRow {
  readonly tr = el('tr');
  private transfer: Transfer;
  private readonly cells = {
    client: el('td', 'client'),
    file: el('td', 'file'),
    name: el('td', 'name'),
    state: el('td', 'state'),
    progress: el('td', 'progress'),
    missing: el('td', 'missing'),
    updated: el('td', 'updated'),
    actions: el('td', 'actions'),
  };
  private readonly bar = el('div', 'bar');
  private readonly fill = el('div', 'fill');
  private readonly amount = el('span', 'amount');
  private readonly stateBadge = el('span', 'badge');
  private rendered = '';

  constructor(
    transfer: Transfer,
    private readonly actions: RowActions,
  ) {
    this.transfer = transfer;
    this.tr.dataset.clientId = transfer.client_id;
    this.tr.dataset.fileId = transfer.file_id;
    this.cells.client.textContent = transfer.client_id;
    this.cells.client.title = transfer.client_id;
    this.cells.file.textContent = transfer.file_id;
    this.cells.file.title = transfer.file_id;
    this.bar.setAttribute('role', 'progressbar');
    this.bar.setAttribute('aria-valuemin', '0');
    this.bar.setAttribute('aria-valuemax', '100');
    this.bar.setAttribute('aria-label', `progress of ${transfer.file_id}`);
    this.bar.append(this.fill);
    this.cells.progress.append(this.bar, this.amount);
    this.cells.state.append(this.stateBadge);
    this.tr.append(...Object.values(this.cells));
    this.render();
  }

  get key(): string {
    return rowKey(this.transfer);
  }

  get current(): Transfer {
    return this.transfer;
  }

  update(next: Transfer): void {
    this.transfer = next;
    this.render();
  }

  private render(): void {
    const t = this.transfer;
    const signature = JSON.stringify(t);
    if (signature === this.rendered) return;
    this.rendered = signature;
    this.tr.dataset.state = t.state;
    this.cells.name.textContent = t.name;
    this.cells.name.title = t.name;
    this.stateBadge.textContent = t.state;
    this.stateBadge.className = `badge ${t.state}`;
    this.cells.state.title = t.error_reason ?? '';

    const percent = percentDone(t);
    const size = expectedSize(t);
    if (percent === undefined) {
      this.bar.removeAttribute('aria-valuenow');
      this.bar.classList.add('unknown');
      this.fill.style.width = '0';
    } else {
      this.bar.setAttribute('aria-valuenow', String(percent));
      this.bar.classList.remove('unknown');
      this.fill.style.width = `${percent}%`;
    }
    const bytes = t.state === 'complete' && size !== undefined ? size : t.bytes_confirmed;
    this.amount.textContent =
      size === undefined
        ? formatBytes(bytes)
        : `${percent ?? 0} % · ${formatBytes(bytes)} of ${formatBytes(size)}`;

    this.cells.missing.textContent = t.missing ? formatRanges(t.missing) : '';
    this.cells.missing.title = t.missing ? formatRanges(t.missing, Infinity) : '';
    this.cells.updated.textContent = formatTime(t.updated_at);
    this.cells.updated.title = t.updated_at;
    this.renderActions();
  }

  private renderActions(): void {
    const t = this.transfer;
    const wanted = isDownloadable(t) ? 'download' : isInFlight(t) ? 'abort' : '';
    if (this.cells.actions.dataset.action === wanted) return;
    this.cells.actions.dataset.action = wanted;
    this.cells.actions.replaceChildren();
    if (wanted === 'download') {
      const button = el('button', 'download', 'Download');
      button.type = 'button';
      button.title = `save ${t.name}`;
      button.addEventListener('click', () => this.actions.download(this.transfer, button));
      this.cells.actions.append(button);
    } else if (wanted === 'abort') {
      const button = el('button', 'abort', 'Abort');
      button.type = 'button';
      button.title = 'stop this upload; the device is told';
      button.addEventListener('click', () => this.actions.abort(this.transfer, button));
      this.cells.actions.append(button);
    }
  }
}
