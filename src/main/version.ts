/** The version every entrypoint reports. */
export const VERSION = '0.1.0';
