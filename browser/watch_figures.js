// Installed in the JupyterLab page by lab_driver.py: runs the notebook, finds each explorer (the
// outermost widget box in the output of a cell that builds one), lists its controls, and times a
// change from the browser's event to the moment every new figure of the explorer is decoded.
(() => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const QUIET_MS = 300; // no change in the explorer for this long: its update is over
  // The kernel handled the change this long ago and no new figure came: the figure did not change.
  // Counted from the kernel's answer, not from the event: an explorer draws ahead in the kernel's
  // event loop, outside any message, so the kernel shows 'idle' while the change waits its turn
  // behind a step of that work (an attribution can take seconds on a busy machine).
  const NO_CHANGE_MS = 5000;
  const X = { cells: [], lastMutation: [], armed: null, panel };

  const kernelIdle = () => {
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return kernel !== null && kernel !== undefined && kernel.status === 'idle';
  };
  const cellWidget = (index) => panel.content.widgets[index];
  const images = (root) => Array.from(root.querySelectorAll('img'));
  // The figures on show: an explorer hides a panel with nothing to show (display: none), and
  // its image is then an empty, broken one that never decodes.
  const shown = (root) => images(root).filter((img) => img.getClientRects().length > 0);
  // What the explorer asked to show: each shown image's src attribute. Not currentSrc: that
  // keeps the old URL until the new image has loaded, later than the mutation that set it.
  const signature = (root) => shown(root).map((img) => img.getAttribute('src')).join('|');
  const problemText = (root) => {
    const text = root.innerText || '';
    for (const sign of ['Cannot draw this choice', 'Traceback']) {
      if (text.includes(sign)) return text.slice(text.indexOf(sign), text.indexOf(sign) + 300);
    }
    return '';
  };

  // The explorer of cell `i`, tagged with classes the driver's locators use.
  X.root = (i) => {
    const cell = cellWidget(X.cells[i]);
    const root = cell && cell.outputArea && cell.outputArea.node.querySelector('.widget-vbox');
    if (!root) return null;
    // Tagged once: even an unchanged class list counts as a mutation, which would never settle.
    const tag = (node, name) => { if (!node.classList.contains(name)) node.classList.add(name); };
    tag(root, 'inception-edu-explorer-root');
    const row = root.querySelector('.widget-hbox');
    if (row) {
      for (const control of row.children) tag(control, 'inception-edu-explorer-control');
    }
    if (X.lastMutation[i] === undefined) {
      X.lastMutation[i] = performance.now();
      new MutationObserver(() => { X.lastMutation[i] = performance.now(); })
        .observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
    }
    return root;
  };

  X.runAll = async (cells, timeout) => {
    X.cells = cells;
    await panel.context.ready;
    await panel.sessionContext.ready;
    const limit = new Promise((_, reject) => setTimeout(
      () => reject(new Error(`the notebook did not finish within ${timeout / 1000} s`)), timeout));
    await Promise.race([app.commands.execute('notebook:run-all-cells'), limit]);
    // Widgets render after their cell's output arrives: give every explorer time to draw.
    const deadline = performance.now() + 120000;
    while (performance.now() < deadline) {
      if (X.state().rendered.every((ok) => ok) && kernelIdle()) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  X.state = () => {
    const errors = [];
    const unexecuted = [];
    panel.content.widgets.forEach((cell, index) => {
      if (cell.model.type !== 'code') return;
      if (cell.model.executionCount === null) unexecuted.push(index);
      for (const output of cell.model.outputs.toJSON()) {
        if (output.output_type === 'error') {
          errors.push(`cell ${index}: ${output.ename}: ${output.evalue}`);
        }
      }
    });
    const rendered = X.cells.map((_, i) => {
      const root = X.root(i);
      return root !== null && images(root).some((img) => img.complete && img.naturalWidth > 0);
    });
    X.cells.forEach((_, i) => {
      const root = X.root(i);
      const problem = root && problemText(root);
      if (problem) errors.push(`explorer ${i}: ${problem}`);
    });
    return { errors, unexecuted, rendered };
  };

  const describe = (control) => {
    const label = control.querySelector('.widget-label');
    const name = label ? label.textContent.trim() : '';
    const select = control.querySelector('select');
    if (select) {
      const choices = Array.from(select.options).map((o) => o.text);
      return { name, kind: 'dropdown', choices, value: choices[select.selectedIndex] };
    }
    const buttons = Array.from(control.querySelectorAll('button'));
    if (buttons.length > 0) {
      const choices = buttons.map((b) => b.textContent.trim());
      const active = buttons.findIndex((b) => b.classList.contains('mod-active'));
      return { name, kind: 'toggle', choices, value: choices[active] };
    }
    const handle = control.querySelector('.noUi-handle, .ui-slider-handle');
    if (handle) {
      const number = (attribute) => Math.round(parseFloat(handle.getAttribute(attribute)));
      return {
        name, kind: 'slider', choices: [],
        min: number('aria-valuemin'), max: number('aria-valuemax'), value: number('aria-valuenow'),
      };
    }
    return { name, kind: 'other', choices: [] };
  };

  X.controls = (i) => Array.from(X.root(i).querySelectorAll('.inception-edu-explorer-control'))
    .map(describe);
  X.sliderValue = (i, c) => describe(X.root(i).querySelectorAll('.inception-edu-explorer-control')[c]).value;

  X.settled = (i) => {
    const root = X.root(i);
    return kernelIdle() && performance.now() - X.lastMutation[i] >= QUIET_MS
      && images(root).every((img) => img.complete);
  };

  // Start timing: the first change, keydown or click inside the explorer is the change event;
  // every later new set of decoded figures moves the end time, until the update is over.
  X.arm = (i) => {
    const root = X.root(i);
    const armed = {
      root, i, t0: null, last: null, shown: signature(root), error: '',
      // The change's messages to the kernel not answered yet, how many it sent, and when the
      // kernel had answered them all.
      sent: new Set(), count: 0, handled: null,
    };
    const onEvent = (event) => { if (armed.t0 === null) armed.t0 = event.timeStamp; };
    // The kernel has handled the change once it went idle after each message the change sent.
    const kernel = panel.sessionContext.session.kernel;
    const onMessage = (_, { msg, direction }) => {
      if (direction === 'send' && msg.header.msg_type === 'comm_msg' && armed.t0 !== null) {
        armed.sent.add(msg.header.msg_id);
        armed.count += 1;
        armed.handled = null;
      } else if (direction === 'recv' && msg.header.msg_type === 'status'
        && msg.content.execution_state === 'idle' && armed.sent.has(msg.parent_header.msg_id)) {
        armed.sent.delete(msg.parent_header.msg_id);
        if (armed.sent.size === 0) armed.handled = performance.now();
      }
    };
    kernel.anyMessage.connect(onMessage);
    const types = ['change', 'keydown', 'click'];
    for (const type of types) root.addEventListener(type, onEvent, true);
    const check = async () => {
      const now = signature(root);
      if (armed.t0 === null || now === armed.shown || shown(root).length === 0) return;
      try {
        await Promise.all(shown(root).map((img) => img.decode()));
      } catch (err) {
        return; // replaced while decoding: the next mutation checks again
      }
      if (signature(root) !== now) return;
      armed.shown = now;
      armed.last = performance.now();
    };
    // Every attribute: a new src, and a panel shown or hidden (its style).
    const observer = new MutationObserver(() => { check(); });
    observer.observe(root, { subtree: true, childList: true, attributes: true });
    armed.stop = () => {
      observer.disconnect();
      kernel.anyMessage.disconnect(onMessage);
      for (const type of types) root.removeEventListener(type, onEvent, true);
    };
    X.armed = armed;
  };

  // A change waits behind the kernel's drawing ahead, then may compute attributions: on a busy
  // machine that is tens of seconds, so the limit is generous.
  X.result = async (timeout = 300000) => {
    const armed = X.armed;
    const deadline = performance.now() + timeout;
    while (performance.now() < deadline) {
      armed.error = problemText(armed.root);
      const now = performance.now();
      const over = kernelIdle() && now - X.lastMutation[armed.i] >= QUIET_MS;
      // Idle and still, long after the kernel handled the change (or long after an event that
      // sent the kernel nothing), with no new figure: the figure did not change.
      const given_up = armed.t0 !== null && (armed.handled !== null
        ? now - armed.handled > NO_CHANGE_MS
        : armed.count === 0 && now - armed.t0 > NO_CHANGE_MS);
      // A new figure, once the kernel has answered the change: later figures would still move
      // the end time (an explorer sends all its figures before it answers).
      const drawn = armed.last !== null && (armed.handled !== null || armed.count === 0);
      if (armed.error || (over && (drawn || given_up))) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    armed.stop();
    const ms = armed.last !== null && armed.t0 !== null ? armed.last - armed.t0 : null;
    return { ms, error: armed.error };
  };

  window.__explorers = X;
})();
