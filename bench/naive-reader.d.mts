/** Events, and SparkListenerTaskEnd events, in the log at `path`: every line through JSON.parse. */
export function naive(path: string): Promise<{ events: number; tasks: number }>;
