/** Why the sequencer refused a request (a code the API answers with, and a message). Nothing changed. */
export class RequestRejected extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}
