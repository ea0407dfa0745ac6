// Hash routing (/#/...): the Worker answers every other path itself, so the UI lives after the #.
import { useEffect, useState } from 'react';

export interface Route {
  /** Path segments after `#/`, decoded. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  return {
    parts: path.split('/').filter(Boolean).map((p) => decodeURIComponent(p)),
    query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)),
  };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function href(parts: string[], query?: URLSearchParams | Record<string, string>): string {
  const qs = query ? new URLSearchParams(query).toString() : '';
  return `#/${parts.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
}

export function navigate(to: string): void {
  if (location.hash !== to) location.hash = to;
}
