/** The browser's `ws`: the page hands the SDK's StreamClient a wrapped browser WebSocket (browser/socket.ts). */
export default class WebSocketUnavailable {
  static readonly CLOSED = 3;
  constructor() {
    throw new Error("`ws` does not run in a browser: wrap the browser's WebSocket (sequencer/web/browser/socket.ts)");
  }
}
