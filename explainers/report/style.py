"""The report page's CSS and Content-Security-Policy (no network: everything is inline)."""

# No fetch, XHR, frame, font or image from anywhere but the page itself (data: images).
CSP = ("default-src 'none'; script-src 'unsafe-inline'; "
       "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'; "
       "form-action 'none'; base-uri 'none'")

CSS = """
body { font-family: 'Liberation Sans', Arial, sans-serif; margin: 24px auto; max-width: 1100px;
       color: #222; padding: 0 16px; }
h1 { font-size: 1.5em; margin: 0 0 .3em } h2 { font-size: 1.2em; margin: .6em 0 .3em }
.prediction { font-size: 1.15em }
.cols { display: flex; gap: 24px; flex-wrap: wrap } .cols > div { flex: 1 1 320px; min-width: 0 }
table.kv { border-collapse: collapse; font-size: .85em; margin: 4px 12px 8px 0 }
table.kv th { text-align: left; padding: 2px 8px 2px 0; color: #555; font-weight: normal;
              vertical-align: top }
table.kv td { padding: 2px 0; word-break: break-all }
.meta { display: flex; flex-wrap: wrap; align-items: flex-start }
/* grid, not flex: a chart's width must not change when later charts are added (plotly.js sizes a
   chart once, when its script runs during parsing) */
.figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 8px }
.fig { min-width: 0 } .fig.tokens { grid-column: 1 / -1; padding: 8px 0 }
img.thumb { width: 192px; image-rendering: pixelated; border: 1px solid #ccc }
blockquote.text { white-space: pre-wrap; border-left: 3px solid #ccc; margin: 0; padding: 4px 12px }
section { border-top: 1px solid #ddd; padding-top: 8px; margin-top: 16px }
@media print {
  body { margin: 0; max-width: none }
  section.page { break-before: page; page-break-before: always; border-top: none }
  .fig { break-inside: avoid; page-break-inside: avoid }
  .modebar-container { display: none !important }
}
"""
