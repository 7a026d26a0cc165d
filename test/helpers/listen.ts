import { uWS } from '../../src/net/uws';

/** Listens on 127.0.0.1 and an ephemeral port; `close` frees the listen socket. */
export function listen(app: uWS.TemplatedApp): Promise<{ port: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (socket) => {
      if (!socket) return reject(new Error('listen failed'));
      resolve({ port: uWS.us_socket_local_port(socket), close: () => uWS.us_listen_socket_close(socket) });
    });
  });
}
