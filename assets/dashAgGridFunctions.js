/* stabgraph: functions the runs table names in its column defs and grid options.
 *
 * dash-ag-grid evaluates {"function": "name(params)"} strings with its own parser (no eval,
 * so the page's Content-Security-Policy stands) and looks names up here.
 */

var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

/* A loss for reading: four significant digits, and powers of ten past 10,000 or under
 * 0.001 ("7.333e+5", never "733300" beside "0.09218"). */
dagfuncs.readableLoss = function (value) {
  if (value === null || value === undefined || value === "") {
    return "";
  }
  var v = Number(value);
  if (!isFinite(v)) {
    return String(value);
  }
  var size = Math.abs(v);
  if (size !== 0 && (size >= 1e4 || size < 1e-3)) {
    return v.toExponential(3).replace(/\.?0+e/, "e");
  }
  return String(Number(v.toPrecision(4)));
};

/* A loss column's cell (params.value through readableLoss). */
dagfuncs.lossCell = function (params) {
  return dagfuncs.readableLoss(params.value);
};

/* The Final cell: a seed group's mean final loss with its spread, "2.147 ± 0.012". */
dagfuncs.seedMeanAndStd = function (params) {
  if (params.value === null || params.value === undefined) {
    return "";
  }
  var std = params.data ? params.data.final_std : null;
  var mean = dagfuncs.readableLoss(params.value);
  return std === null || std === undefined ? mean : mean + " ± " + dagfuncs.readableLoss(std);
};

/* A count with thousands separators ("12,345"). */
dagfuncs.countCell = function (params) {
  if (params.value === null || params.value === undefined) {
    return "";
  }
  return Number(params.value).toLocaleString("en-US");
};

/* The Run column sorts by name: a group row's ▸/▾ does not send it after every run. */
dagfuncs.runNames = function (valueA, valueB) {
  var bare = function (v) {
    return String(v === null || v === undefined ? "" : v).replace(/^[\u25b8\u25be] /, "");
  };
  return bare(valueA).localeCompare(bare(valueB), undefined, { numeric: true });
};

/* After any sort, an open group's seed rows stay right under their group row (in the sorted
 * order among themselves): the grid sorts rows one by one and knows nothing of groups. */
dagfuncs.seedsUnderTheirGroup = function (params) {
  var nodes = params.nodes;
  var seeds = {};
  var top = [];
  nodes.forEach(function (node) {
    var data = node.data || {};
    if (data.kind === "seed" && data.group) {
      (seeds[data.group] = seeds[data.group] || []).push(node);
    } else {
      top.push(node);
    }
  });
  var ordered = [];
  top.forEach(function (node) {
    ordered.push(node);
    var data = node.data || {};
    if (data.kind === "group" && seeds[data.run_id]) {
      Array.prototype.push.apply(ordered, seeds[data.run_id]);
      delete seeds[data.run_id];
    }
  });
  Object.keys(seeds).forEach(function (group) {
    Array.prototype.push.apply(ordered, seeds[group]); // a seed row whose group is not shown
  });
  nodes.splice.apply(nodes, [0, nodes.length].concat(ordered));
};
