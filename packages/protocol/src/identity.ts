import { RESPONSE_TOPIC_ROOT, type Layout } from './command.js';
import { ProtocolError } from './errors.js';
import { clientIdProblem } from './identifiers.js';
import { ANONYMOUS_CLIENT_ID } from './transfer-key.js';

/** The MQTT 5 user property by which a device names itself in the emqx layout. */
export const CLIENT_ID_PROPERTY = 'clientid';

const RESPONSE_TOPIC_PREFIX = `${RESPONSE_TOPIC_ROOT}/`;

export type ResolvedClientId =
  { ok: true; clientId: string; anonymous: boolean } | { ok: false; error: ProtocolError };

export interface IdentityInput {
  layout: Layout;
  /** The clientId level of a scoped topic (from `parseTopic`). */
  topicClientId?: string;
  /** The message's MQTT 5 user properties, as MQTT.js hands them over. */
  userProperties?: Record<string, string | string[]>;
  /** The message's MQTT 5 Response Topic. */
  responseTopic?: string;
}

/**
 * Who sent a command (docs/protocol.md "Identity"). A plain broker does not tell subscribers the
 * publisher, so the device says it: in the scoped layout by a topic level the broker's ACL
 * can enforce; in the emqx layout by the `clientid` user property, else by a Response Topic
 * `$file-response/{clientId}`, else not at all (the anonymous namespace).
 */
export function resolveClientId(input: IdentityInput): ResolvedClientId {
  const claims = userPropertyClientIds(input.userProperties);
  // A repeated property is ambiguous: a broker that appends the connection's clientId after
  // the device's own (or a device that sends two) must not let the first one win.
  if (claims.length > 1) return denied(`${claims.length} user properties clientid, at most 1`);
  const claimed = claims[0];
  if (input.layout === 'scoped') return resolveScoped(input.topicClientId, claimed);
  if (claimed !== undefined) return named(claimed, 'user property clientid');
  const fromResponseTopic = responseTopicClientId(input.responseTopic);
  if (fromResponseTopic !== undefined) return named(fromResponseTopic, 'Response Topic');
  return { ok: true, clientId: ANONYMOUS_CLIENT_ID, anonymous: true };
}

function resolveScoped(topicClientId: string | undefined, claimed: string | undefined) {
  if (topicClientId === undefined) {
    return denied('the scoped layout needs the clientId topic level');
  }
  // The topic level is what the broker's ACL checked; a property saying otherwise is a lie.
  if (claimed !== undefined && claimed !== topicClientId) {
    return denied('user property clientid differs from the topic clientId');
  }
  return named(topicClientId, 'topic');
}

function named(clientId: string, source: string): ResolvedClientId {
  const problem = clientIdProblem(clientId);
  if (problem !== undefined) return denied(`${problem} (from the ${source})`);
  return { ok: true, clientId, anonymous: false };
}

function denied(message: string): ResolvedClientId {
  return { ok: false, error: new ProtocolError('not_authorized', message) };
}

/** Every value: MQTT allows a property name to repeat, MQTT.js then gives an array. */
function userPropertyClientIds(
  properties: Record<string, string | string[]> | undefined,
): string[] {
  if (properties === undefined || !Object.hasOwn(properties, CLIENT_ID_PROPERTY)) return [];
  const value = properties[CLIENT_ID_PROPERTY];
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/**
 * `$file-response/{clientId}` names the device; any other Response Topic only says where to
 * answer. The rest of the topic is taken whole: some brokers allow `/` in a clientId.
 */
function responseTopicClientId(responseTopic: string | undefined): string | undefined {
  if (responseTopic === undefined || !responseTopic.startsWith(RESPONSE_TOPIC_PREFIX)) {
    return undefined;
  }
  const clientId = responseTopic.slice(RESPONSE_TOPIC_PREFIX.length);
  return clientId === '' ? undefined : clientId;
}
