/** `--as=text` inputs must be UTF-8 (draft-dkg-openpgp-stateless-cli, EXPECTED_TEXT, 53). */
import { SigillError } from '../../core/errors.ts';

/** Passes bytes through unchanged while checking, chunk by chunk, that they are valid UTF-8. */
export function requireUtf8(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const check = (decode: () => void): void => {
    try {
      decode();
    } catch (error) {
      throw new SigillError('EXPECTED_TEXT', { cause: error });
    }
  };
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        check(() => decoder.decode(chunk, { stream: true }));
        controller.enqueue(chunk);
      },
      flush() {
        check(() => decoder.decode());
      },
    }),
  );
}
