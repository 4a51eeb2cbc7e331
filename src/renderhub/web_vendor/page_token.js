// The token a RenderHub page (the dashboard, the inspector) works with: taken from the URL's
// `#token=` (then dropped from the address, so it is neither bookmarked nor shared) or from
// this tab's sessionStorage under `key`. The fragment never leaves the browser.
export function takeToken(key) {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (given) {
    sessionStorage.setItem(key, given.trim());
    fragment.delete("token");
    const rest = fragment.toString();
    history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
  }
  return sessionStorage.getItem(key);
}
