// Load serversim's web page in headless Chromium and check it: the app renders (a first frame
// is reported and the screenshot is not blank), the console shows no panic or error, a lesson
// and an example open through the URL fragment and render, and #bench reports the simulation's
// speed in the page. Usage: node web-check.cjs URL OUT_DIR (scripts/web-check.sh runs it).
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

const [base, outDir] = process.argv.slice(2);
const pages = [
  { name: "default", fragment: "", expect: "serversim: first frame drawn" },
  // The lesson's runs are computed in the page, between frames: wait until they are done.
  { name: "lesson-1", fragment: "#lesson=1", expect: "serversim: lesson 1 runs done" },
  // Progress is kept in the browser's storage: back on the page without a link, the lesson
  // opened last is open again (the same context, so the same storage).
  { name: "restored", fragment: "", expect: "serversim: opened lesson 1", sameContextAsPrevious: true },
  { name: "presenter", fragment: "#lesson=2", expect: "serversim: opened lesson 2", keys: ["p"] },
  { name: "scenario-slow-reader-dos", fragment: "#scenario=slow-reader-dos", expect: "serversim: opened scenario slow-reader-dos.toml" },
  // A scenario file dropped on the page opens (read asynchronously, as browsers do).
  { name: "dropped", fragment: "", expect: "serversim: opened scenario dropped.toml", drop: "dropped.toml" },
  // The latency view (key 2), run faster (Right arrow) until past the warm-up.
  { name: "latency-view", fragment: "", expect: "serversim: first frame drawn", keys: ["ArrowRight", "ArrowRight", "ArrowRight", "ArrowRight", "2"], waitMs: 8000 },
  // File → Save scenario as… is a download of the scenario's TOML.
  { name: "save", fragment: "", expect: "serversim: first frame drawn", clicks: [[125, 12], [168, 86]], download: "scenario.toml" },
  // The sweep view (key 3), with a sweep run.
  { name: "sweep-view", fragment: "#scenario=io-bound-four-architectures", expect: "serversim: opened scenario io-bound-four-architectures.toml", keys: ["3"], clicks: [[394, 125]], waitMs: 8000 },
  { name: "bench", fragment: "#bench", expect: "serversim: bench" },
];
// WEB_CHECK_BENCH_RUNS=N measures the speed N times (a spread, for docs/performance.md).
for (let i = 2; i <= Number(process.env.WEB_CHECK_BENCH_RUNS || 1); i++)
  pages.push({ name: `bench-${i}`, fragment: "#bench", expect: "serversim: bench" });

let previousContext = null;

async function visit(browser, p) {
  const context = p.sameContextAsPrevious && previousContext
    ? previousContext
    : await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (previousContext && previousContext !== context) await previousContext.close();
  previousContext = context;
  const page = await context.newPage();
  const lines = [];
  const errors = [];
  page.on("console", (m) => {
    lines.push(m.text());
    if (m.type() === "error" || /panicked/.test(m.text())) errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  await page.goto(base + p.fragment, { waitUntil: "load", timeout: 60000 });
  const drawn = () => lines.some((l) => l.startsWith("serversim: first frame drawn"));
  const seen = () => lines.some((l) => l.startsWith(p.expect)) && drawn();
  const deadline = Date.now() + 120000;
  while (!(p.drop ? drawn() : seen()) && errors.length === 0 && Date.now() < deadline) await page.waitForTimeout(250);
  if (p.drop) {
    // What a browser does when a file is dropped: dragenter, dragover and drop on the canvas.
    await page.evaluate((name) => {
      const text = '[load]\narrival = "poisson"\nrate_rps = 40.0\n[[request]]\ncpu_ms = 5.0\n' +
        '[[server]]\nname = "dropped"\narchitecture = "threaded"\nthreads = 4\n';
      const dt = new DataTransfer();
      dt.items.add(new File([text], name, { type: "application/toml" }));
      const canvas = document.getElementById("serversim");
      for (const type of ["dragenter", "dragover", "drop"]) {
        canvas.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
      }
    }, p.drop);
    const until = Date.now() + 30000;
    while (!lines.some((l) => l.startsWith(p.expect)) && Date.now() < until) await page.waitForTimeout(250);
  }
  for (const k of p.keys || []) {
    await page.mouse.click(640, 400);
    await page.keyboard.press(k);
  }
  const download = p.download ? page.waitForEvent("download", { timeout: 30000 }).catch(() => null) : null;
  for (const [x, y] of p.clicks || []) {
    await page.waitForTimeout(500);
    await page.mouse.click(x, y);
  }
  if (download) {
    const d = await download;
    const text = d ? fs.readFileSync(await d.path(), "utf8") : "";
    if (!d || d.suggestedFilename() !== p.download || !text.includes("[[server]]"))
      errors.push(`no download ${p.download} holding a scenario (got ${d ? d.suggestedFilename() : "none"})`);
    else lines.push(`(downloaded ${p.download}: ${text.length} bytes)`);
  }
  // A few seconds of frames: the simulation runs and the plots fill. Meanwhile the longest gap
  // between two animation frames is measured (a frozen page shows a long one).
  const worstGapMs = await page.evaluate((ms) => new Promise((done) => {
    let last = performance.now(), worst = 0;
    const end = last + ms;
    const tick = (t) => { worst = Math.max(worst, t - last); last = t; if (t < end) requestAnimationFrame(tick); else done(worst); };
    requestAnimationFrame(tick);
  }), p.waitMs || 3000);
  lines.push(`(longest gap between frames over ${(p.waitMs || 3000) / 1000} s: ${worstGapMs.toFixed(0)} ms)`);
  const shot = path.join(outDir, `${p.name}.png`);
  await page.screenshot({ path: shot });
  // Leaving the page saves the settings (eframe's persistence) for a page that follows.
  await page.close({ runBeforeUnload: true });
  return { ...p, lines, errors, seen: seen(), shot };
}

// Distinct colours (sampled) of each screenshot and the fraction of pixels that differ from the
// first, measured in a blank page's 2D canvas.
async function imageStats(browser, shots) {
  const page = await browser.newPage();
  const data = shots.map((s) => "data:image/png;base64," + fs.readFileSync(s).toString("base64"));
  const stats = await page.evaluate(async (urls) => {
    const pixels = [];
    for (const u of urls) {
      const img = new Image();
      img.src = u;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext("2d");
      g.drawImage(img, 0, 0);
      pixels.push(g.getImageData(0, 0, c.width, c.height).data);
    }
    return pixels.map((px) => {
      const colours = new Set();
      let differ = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (i % 64 === 0) colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
        const d = Math.abs(px[i] - pixels[0][i]) + Math.abs(px[i + 1] - pixels[0][i + 1]) + Math.abs(px[i + 2] - pixels[0][i + 2]);
        if (d > 30) differ++;
      }
      return { colours: colours.size, differFromFirst: differ / (px.length / 4) };
    });
  }, data);
  await page.close();
  return stats;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  let failed = [];
  const results = [];
  try {
    for (const p of pages) results.push(await visit(browser, p));
    const stats = await imageStats(browser, results.map((r) => r.shot));
    results.forEach((r, i) => {
      const frame = r.lines.find((l) => l.startsWith("serversim: first frame drawn"));
      const said = r.lines.find((l) => l.startsWith(r.expect));
      const gap = r.lines.find((l) => l.startsWith("(longest gap"));
      const saved = r.lines.find((l) => l.startsWith("(downloaded")) || "";
      console.log(`web-check: ${r.name}: ${said || "(nothing)"}${frame && frame !== said ? "; " + frame : ""}; ${gap}${saved}; ` +
        `${stats[i].colours} colours, ${(100 * stats[i].differFromFirst).toFixed(1)}% of pixels differ from the default page`);
      for (const e of r.errors) failed.push(`${r.name}: ${e}`);
      if (!r.seen) failed.push(`${r.name}: the page never said "${r.expect}" (and drew a first frame)`);
      if (stats[i].colours < 20) failed.push(`${r.name}: the screenshot is blank (${stats[i].colours} colours)`);
      if (i > 0 && !r.name.startsWith("bench") && !["restored", "dropped", "save"].includes(r.name) && stats[i].differFromFirst < 0.05)
        failed.push(`${r.name}: the screenshot looks like the default page: the link did not open what it names`);
    });
  } finally {
    if (previousContext) await previousContext.close();
    await browser.close();
  }
  if (failed.length) {
    console.error("web-check: FAILED\n  " + failed.join("\n  "));
    process.exit(1);
  }
  console.log(`web-check: ok; screenshots in ${outDir}`);
})().catch((e) => {
  console.error("web-check: " + e.stack);
  process.exit(1);
});
