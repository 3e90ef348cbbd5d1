// stabgraph's render functions, loaded into kaleido's page after plotly.js.
//
// One Plotly draw per export, every asked format made from that one drawing: the SVG as
// drawn; a PNG painted from the SVG onto a canvas `pngScale` times larger (what plotly.js's
// own PNG export does); and for a PDF the SVG shown as the page's image, with the page sized
// to the figure, ready for Page.printToPDF (what kaleido's page does). kaleido's function
// draws the figure again for each format, and the draw is the slowest step of an export.
//
// The PNG is encoded on a worker thread: the page's thread is free to print the PDF
// meanwhile, and a worker encodes in one go where canvas.toBlob on the page's thread
// works in idle-time slices (a 3600 x 2100 PNG: about 65 ms against 100).

const pngWorkerSource = `
  onmessage = async ({ data }) => {
    const canvas = new OffscreenCanvas(data.bitmap.width, data.bitmap.height);
    canvas.getContext('bitmaprenderer').transferFromImageBitmap(data.bitmap);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    const url = new FileReaderSync().readAsDataURL(blob);
    postMessage(url.slice(url.indexOf(',') + 1));
  };
`;
let pngWorker = null;

function encodePng(img, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d').drawImage(img, 0, 0, width, height);
  const bitmap = canvas.transferToImageBitmap();
  if (!pngWorker) {
    pngWorker = new Worker(URL.createObjectURL(new Blob([pngWorkerSource])));
  }
  const worker = pngWorker;
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (event) => {
      pngWorker = null;  // a fresh one for the next export
      reject(new Error(`PNG encoding failed: ${event.message}`));
    };
    worker.postMessage({ bitmap }, [bitmap]);
  });
}

// Draws the figure and returns {svg} (when asked); the PNG, when asked, is encoding by
// the time this returns: stabgraphPng() hands it over.
window.stabgraphRender = async function (figureJson, width, height, formats, pngScale) {
  window.stabgraphPending = null;
  const figure = JSON.parse(figureJson);
  const svg = await Plotly.toImage(
    { data: figure.data, layout: figure.layout, config: figure.config || {} },
    { format: 'svg', width: width, height: height, scale: 1, imageDataOnly: true }
  );
  const result = {};
  if (formats.includes('svg')) result.svg = svg;
  const printing = formats.includes('pdf');
  if (!printing && !formats.includes('png')) return result;

  // the page's own <img> only when it is printed: a detached image is never laid out
  const img = printing ? document.getElementById('kaleido-image') : new Image();
  if (printing) {
    document.getElementById('head-style').textContent =
      `@page { size: ${width}px ${height}px; } body { margin: 0; padding: 0; }`;
  }
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  if (printing) {  // the page shows it until the next print replaces it
    if (window.stabgraphShown) URL.revokeObjectURL(window.stabgraphShown);
    window.stabgraphShown = url;
  }
  try {
    img.src = url;
    await img.decode();
    if (formats.includes('png')) {
      const png = encodePng(img, Math.round(width * pngScale), Math.round(height * pngScale));
      png.catch(() => {});  // reported by stabgraphPng()
      window.stabgraphPending = png;
    }
  } finally {
    if (!printing) URL.revokeObjectURL(url);
  }
  return result;
};

// The PNG (base64) of the last stabgraphRender call that asked for one.
window.stabgraphPng = function () {
  if (!window.stabgraphPending) throw new Error('no PNG was asked for');
  return window.stabgraphPending;
};
