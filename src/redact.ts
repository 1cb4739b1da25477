/** What may be printed of a URL: never its user or password (proxy and mirror URLs may carry credentials). */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(String(url));
    parsed.username = '';
    parsed.password = '';
    return parsed.href.replace(/\/$/, '');
  } catch {
    return '<invalid URL>';
  }
}

/** A message with the `user:password@` of every URL in it removed (tuf-js quotes the URLs it fetched, credentials included). */
export function withoutUserinfo(text: string): string {
  return text.replace(/(\/\/)[^/?#@\s]*@/g, '$1');
}
