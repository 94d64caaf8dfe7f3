// webextension-polyfill ships no types; its default export is the `browser` namespace that
// @types/thunderbird-webext-browser describes (in Thunderbird it returns the native `browser` as is).
declare module 'webextension-polyfill' {
  const browser: unknown;
  export default browser;
}
