/* links.js: Grafana's panel links and data links: URLs with the
 * dashboard's variables and time range, and for a data link the value,
 * field and row it sits on (${__value.raw}, ${__field.name},
 * ${__data.fields.name}...). Only http(s) and same-site URLs are made
 * into links: a dashboard file cannot run script through one. */
import { el } from './dom.js';

function safeUrl(u) {
  const t = String(u || '').trim();
  if (/^https?:\/\//i.test(t) || /^mailto:/i.test(t)) return t;
  if (/^[/?#]/.test(t) && !/^\/\//.test(t)) return t;
  if (/^[a-z][a-z0-9+.-]*:/i.test(t)) return null; /* javascript:, data: and the like */
  return t ? `/${t.replace(/^\.?\//, '')}` : null;
}

/* ${name}, ${name:fmt}, $name and [[name]] in a URL: the dashboard's
 * variables (queryparam gives var-name=value), the range and the link's
 * own context (ctx: built-ins such as __value.raw). */
function interpolateUrl(url, vars, range, ctx) {
  const enc = encodeURIComponent;
  const builtin = Object.assign({
    __from: range ? String(range.from) : '', __to: range ? String(range.to) : '',
    __url_time_range: range ? `from=${range.from}&to=${range.to}` : '',
  }, ctx || {});
  const one = (name, fmt) => {
    if (Object.prototype.hasOwnProperty.call(builtin, name)) return name === '__url_time_range' ? builtin[name] : enc(builtin[name] ?? '');
    const v = vars[name];
    if (v === undefined) return null;
    if (fmt === 'queryparam') return v.map((x) => `var-${enc(name)}=${enc(x)}`).join('&');
    return v.map(enc).join(',');
  };
  return String(url).replace(/\$\{([^}:]+)(?::([^}]+))?\}|\[\[(\w+)\]\]|\$(\w+)/g, (m, a, fmt, b, c) => {
    const r = one(a || b || c, fmt);
    return r === null ? m : r;
  });
}

/* The header links of a panel (its "links" list). */
function linkList(links, vars, range) {
  const good = (links || []).map((l) => ({ l, href: safeUrl(interpolateUrl(l.url, vars, range)) })).filter((x) => x.href);
  if (!good.length) return null;
  /* an icon each, named by its title (the header keeps room for the panel's own) */
  return el('span', { class: 'panel-links' }, good.map(({ l, href }) => el('a', {
    href, class: 'panel-link', target: l.targetBlank ? '_blank' : null, rel: 'noopener noreferrer',
    title: l.title || href, 'aria-label': l.title || href,
  }, '↗')));
}

/* A data link for one value: the URL, or null. fields: the frame's
 * fields by name, row: the row's index. */
function dataLink(link, field, value, text, fields, row, vars, range) {
  const ctx = { '__value.raw': value === null ? '' : String(value), '__value.text': text, '__value.numeric': String(Number(value)),
    '__field.name': field.name, '__series.name': field.name };
  if (field.labels) for (const [k, v] of Object.entries(field.labels)) ctx[`__field.labels.${k}`] = v;
  fields.forEach((f, i) => {
    const v = f.values[row];
    ctx[`__data.fields.${f.name}`] = v === null ? '' : String(v);
    ctx[`__data.fields["${f.name}"]`] = ctx[`__data.fields.${f.name}`];
    ctx[`__data.fields[${i}]`] = ctx[`__data.fields.${f.name}`];
  });
  return safeUrl(interpolateUrl(link.url, vars, range, ctx));
}

export { dataLink, interpolateUrl, linkList, safeUrl };
