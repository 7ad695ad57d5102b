// The environment variables the CLI reads. They are the services' own names (docs/operations.md
// "Configuration"), so one shell, one .env file or one Secret configures both; the CLI's
// earlier names still work, with a warning on stderr that names the new one.

interface CliVariable {
  /** The name the services use too. */
  readonly name: string;
  /** The CLI's earlier name, still read when `name` is not set. */
  readonly oldName?: string;
  /** From the variable's text to the one value the CLI needs. */
  readonly pick?: (text: string) => string | undefined;
}

export const CLI_VARIABLES = {
  mqttUrl: { name: 'MQFT_MQTT_URL', oldName: 'MQFT_BROKER' },
  mqttUsername: { name: 'MQFT_MQTT_USERNAME' },
  mqttPassword: {
    name: 'MQFT_MQTT_PASSWORD',
    oldName: 'MQFT_PASSWORD',
  },
  apiAddr: {
    name: 'MQFT_GRPC_ADDR',
    oldName: 'MQFT_API',
  },
  apiToken: {
    name: 'MQFT_API_TOKENS',
    oldName: 'MQFT_API_TOKEN',
    pick: (text) =>
      text
        .split(',')
        .find((token) => token.trim() !== '')
        ?.trim(),
  },
} as const satisfies Record<string, CliVariable>;

export type CliSetting = keyof typeof CLI_VARIABLES;

/** Reads one setting from the environment (empty counts as unset); undefined when unset. */
export type EnvReader = (setting: CliSetting) => string | undefined;

/**
 * An EnvReader over `env`. Reading a setting from an old name warns through `warn`
 * (one line, naming the new variable); the new name wins when both are set.
 */
export function envReader(
  env: Record<string, string | undefined>,
  warn: (line: string) => void,
): EnvReader {
  const value = (name: string) => (env[name] === '' ? undefined : env[name]);
  return (setting) => {
    const variable: CliVariable = CLI_VARIABLES[setting];
    const current = value(variable.name);
    const old = variable.oldName === undefined ? undefined : value(variable.oldName);
    if (old !== undefined) {
      warn(
        current === undefined
          ? `mqft: ${variable.oldName} is deprecated; set ${variable.name} instead\n`
          : `mqft: ${variable.oldName} is ignored: ${variable.name} is set (and replaces it)\n`,
      );
    }
    const text = current ?? old;
    if (text === undefined) return undefined;
    return variable.pick ? variable.pick(text) : text;
  };
}
