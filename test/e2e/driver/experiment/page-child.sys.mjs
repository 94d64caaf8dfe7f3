// Test-only (never shipped): runs inside an extension page (Sigill's options page, its passphrase
// prompt) in the extension process and does what a person does there: reads what the page shows,
// clicks, types with real key events (nsITextInputProcessor, as Gecko's own EventUtils does), and picks
// files for <input type=file> (the one thing a file dialog would do). Asked by the driver's Experiment.
/* global JSWindowActorChild, Cc, Ci */

function describe(element, window) {
  const style = window.getComputedStyle(element);
  return {
    exists: true,
    text: element.textContent.replace(/\s+/g, ' ').trim(),
    value: 'value' in element ? element.value : undefined,
    checked: 'checked' in element ? element.checked : undefined,
    disabled: Boolean(element.disabled),
    visible: !element.closest('[hidden]') && style.display !== 'none' && style.visibility !== 'hidden',
    focused: element.ownerDocument.activeElement === element,
    attributes: Object.fromEntries([...element.attributes].map((attribute) => [attribute.name, attribute.value])),
  };
}

const namedKeys = { Enter: 13, Escape: 27, Tab: 9, Backspace: 8 };

export class SigillTestPageChild extends JSWindowActorChild {
  async receiveMessage({ name, data }) {
    if (name !== 'act') throw new Error(`unknown message ${name}`);
    try {
      return this.act(data);
    } catch (error) {
      throw new Error(`${data.op} ${data.selector ?? ''}: ${error?.message ?? error} ${error?.stack ?? ''}`, { cause: error });
    }
  }

  find(selector) {
    const element = this.document.querySelector(selector);
    if (!element) throw new Error(`no element matches ${selector} on ${this.document.location.href}`);
    return element;
  }

  tip() {
    const tip = Cc['@mozilla.org/text-input-processor;1'].createInstance(Ci.nsITextInputProcessor);
    if (!tip.beginInputTransactionForTests(this.contentWindow)) throw new Error('no input transaction for this page');
    return tip;
  }

  press(tip, key) {
    const dictionary = key in namedKeys ? { key, code: key, keyCode: namedKeys[key] } : { key };
    const event = new this.contentWindow.KeyboardEvent('', dictionary);
    tip.keydown(event);
    tip.keyup(event);
  }

  act({ op, selector, value, files, keys }) {
    switch (op) {
      case 'url':
        return this.document.location.href;
      case 'query': {
        const element = this.document.querySelector(selector);
        return element ? describe(element, this.contentWindow) : { exists: false };
      }
      case 'queryAll':
        return [...this.document.querySelectorAll(selector)].map((element) => describe(element, this.contentWindow));
      case 'click': {
        const element = this.find(selector);
        element.focus();
        element.click();
        return null;
      }
      case 'type': {
        // Focus, then real key presses: input events, Enter submitting forms, Escape handlers.
        const element = selector ? this.find(selector) : this.document.activeElement;
        if (selector) element.focus();
        const tip = this.tip();
        for (const key of keys) this.press(tip, key);
        return null;
      }
      case 'select': {
        const element = this.find(selector);
        element.focus();
        element.value = value;
        element.dispatchEvent(new this.contentWindow.Event('change', { bubbles: true }));
        return null;
      }
      case 'setFiles': {
        const element = this.find(selector);
        const transfer = new this.contentWindow.DataTransfer();
        for (const file of files) transfer.items.add(new this.contentWindow.File([file.text], file.name, { type: 'text/plain' }));
        element.files = transfer.files;
        element.dispatchEvent(new this.contentWindow.Event('input', { bubbles: true }));
        element.dispatchEvent(new this.contentWindow.Event('change', { bubbles: true }));
        return null;
      }
      case 'dataset':
        return { ...this.document.body.dataset };
      default:
        throw new Error(`unknown page operation ${op}`);
    }
  }
}
