// What of the user's environment the local stack (`pnpm start`) hands to its services.
//
// Every MQFT_* variable set in the environment reaches ingest, assembler and control as it is
// (MQFT_LAYOUT, MQFT_LOG_LEVEL, MQFT_FIN_GRACE, MQFT_MAX_FILE_SIZE, …), and wins over the
// stack's own defaults. The stack reads some of them itself first: MQFT_NATS_URL and
// MQFT_REDIS_URL (used when they answer, else the stack starts its own server and points the
// services at it), MQFT_STORAGE (a relative file:// path is taken relative to the repository),
// MQFT_STREAM and MQFT_REDIS_PREFIX (used as given; the stack never deletes them, so transfers
// survive a restart), MQFT_GRPC_ADDR, MQFT_HTTP_API_ADDR and MQFT_LOCAL_MQTT_PORT (the
// devices' port, or the next free one).
//
// The variables below are the stack's own: it runs its own Mosquitto and picks the ports, so
// a value from the environment would point the services at something that is not there.
// They are dropped from what the services get (and start.ts says so when one was set).

/** Set by the stack whatever the layout; the reason is printed when the environment sets one. */
const OWNED: Readonly<Record<string, string>> = {
  MQFT_MQTT_URL: "the stack's own Mosquitto",
  MQFT_MQTT_SUBSCRIPTION: "the loopback bridge of the stack's Mosquitto",
  MQFT_MQTT_TOPIC_PREFIX: "the loopback bridge of the stack's Mosquitto",
  MQFT_MQTT_CLIENT_ID: 'one per service process, made up by the stack',
  MQFT_HTTP_ADDR: 'a free port per service (printed)',
};

/** Set by the stack in the scoped layout, whose broker has a user per service. */
const OWNED_WHEN_SCOPED: Readonly<Record<string, string>> = {
  MQFT_MQTT_USERNAME: "the service's user on the stack's locked-down Mosquitto",
  MQFT_MQTT_PASSWORD: "the service's user on the stack's locked-down Mosquitto",
};

export interface ServiceEnvironment {
  /** The MQFT_* variables the services get from the user's environment. */
  passed: Record<string, string>;
  /** The ones set but owned by the stack, with why. */
  ignored: { name: string; why: string }[];
}

/** Splits the user's MQFT_* variables into those the services get and those the stack owns. */
export function serviceEnvironment(
  env: Record<string, string | undefined>,
  layout: 'emqx' | 'scoped',
): ServiceEnvironment {
  const owned = layout === 'scoped' ? { ...OWNED, ...OWNED_WHEN_SCOPED } : OWNED;
  const passed: Record<string, string> = {};
  const ignored: { name: string; why: string }[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('MQFT_') || value === undefined || value === '') continue;
    const why = owned[name];
    if (why === undefined) passed[name] = value;
    else ignored.push({ name, why });
  }
  return { passed, ignored };
}
