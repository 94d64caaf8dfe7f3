/** What one delivery attempt for one recipient came to. */
export type DeliveryOutcome =
  | { status: 'delivered'; remoteMta?: string; response?: string }
  | { status: 'temporary'; diagnostic: string; remoteMta?: string }
  | {
      status: 'permanent';
      /** RFC 3463 enhanced status code for the DSN, e.g. `5.1.1`. */
      statusCode: string;
      diagnostic: string;
      remoteMta?: string;
    };

/** Control characters out, length bounded: remote replies and errors end up in DSNs and logs. */
export function cleanDiagnostic(text: string, maxLength = 900): string {
  // eslint-disable-next-line no-control-regex -- exactly what must never reach a header
  const flat = text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return flat.length > maxLength ? `${flat.slice(0, maxLength)}...` : flat;
}

/** The enhanced status code at the start of an SMTP reply text, else one derived from its class. */
export function statusCodeOf(response: string, responseCode: number | undefined): string {
  const match = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response);
  if (match?.[1]) return match[1];
  return responseCode !== undefined && responseCode >= 500 ? '5.0.0' : '4.0.0';
}
