import './style.css';
import { ConsoleView } from './console-view.js';
import { Api, ApiError } from './api.js';

/** The token lives in sessionStorage: this tab only, gone when it closes. */
const TOKEN_KEY = 'mqft.console.token';

const byId = <T extends HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page lacks #${id}`);
  return node as T;
};

const login = byId('login');
const loginForm = byId<HTMLFormElement>('login-form');
const tokenInput = byId<HTMLInputElement>('token');
const loginError = byId('login-error');
const signOut = byId<HTMLButtonElement>('sign-out');
let view: ConsoleView | undefined;

function showLogin(message = ''): void {
  view?.stop();
  view = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  byId('console').hidden = true;
  byId('live').hidden = true;
  signOut.hidden = true;
  login.hidden = false;
  loginError.textContent = message;
  loginError.hidden = message === '';
  tokenInput.value = '';
  tokenInput.focus();
}

function rejected(err: ApiError): string {
  return (
    `The API token was not accepted (HTTP 401 ${err.code}: ${err.message}). ` +
    `Check it against control's MQFT_API_TOKENS.`
  );
}

/** Tries the token on the API: opens the console, or says why not. */
async function open(token: string): Promise<void> {
  const api = new Api(token);
  try {
    await api.list({ client: '', state: '' }, 1, '');
  } catch (err) {
    if (err instanceof ApiError && err.unauthorized) return showLogin(rejected(err));
    return showLogin(`control did not answer as expected: ${(err as Error).message}`);
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  login.hidden = true;
  signOut.hidden = false;
  view = new ConsoleView(api, (err) => showLogin(rejected(err)));
  view.start();
}

loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  loginError.hidden = true;
  void open(tokenInput.value.trim());
});
signOut.addEventListener('click', () => showLogin());

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved === null) showLogin();
else void open(saved);
