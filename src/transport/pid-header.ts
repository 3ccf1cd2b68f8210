// Commands report their login shell's PID on stderr first, so a timed-out or aborted command's
// process group can be killed through another channel (closing the channel alone leaves it running).

const PID_HEADER = '@hardway-pid ';

/** The wrapper's first stderr line, `@hardway-pid 1234`; undefined while the line is incomplete. */
export function splitPidHeader(data: Buffer): { pid: number | undefined; rest: Buffer } | undefined {
  const newline = data.indexOf(10);
  if (newline < 0) return data.length < 64 ? undefined : { pid: undefined, rest: data };
  const match = /^@hardway-pid (\d+)$/.exec(data.subarray(0, newline).toString('latin1'));
  return match ? { pid: Number(match[1]), rest: data.subarray(newline + 1) } : { pid: undefined, rest: data };
}


/** The command as sent: the PID line first, then the command itself. */
export function pidReportingCommand(command: string): string {
  return `printf '${PID_HEADER}%s\\n' "$$" >&2; ${command}`;
}
