// Test-only Experiment API (never shipped). There is no WebExtension API to fetch mail now, nor to look
// at another add-on's state: these call Thunderbird's own services, the way its buttons do.
/* global ChromeUtils, Ci, ExtensionCommon, Services */

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- Thunderbird looks the API class up by this global name
var sigillTest = class extends ExtensionCommon.ExtensionAPI {
  getAPI() {
    return {
      sigillTest: {
        getNewMessages(accountId) {
          const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
          const server = MailServices.accounts.getAccount(accountId).incomingServer;
          const inbox = server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox);
          return new Promise((resolve) => {
            server.getNewMessages(inbox, null, {
              QueryInterface: ChromeUtils.generateQI(['nsIUrlListener']),
              OnStartRunningUrl() {},
              OnStopRunningUrl(_url, status) {
                resolve(status);
              },
            });
          });
        },

        async addonInfo(addonId) {
          const { AddonManager } = ChromeUtils.importESModule('resource://gre/modules/AddonManager.sys.mjs');
          const addon = await AddonManager.getAddonByID(addonId);
          if (!addon) return null;
          const { id, name, version, isActive, userDisabled, appDisabled } = addon;
          return { id, name, version, isActive, userDisabled, appDisabled };
        },

        async screenshot() {
          const window = Services.wm.getMostRecentWindow('mail:3pane');
          const canvas = window.document.createElementNS('http://www.w3.org/1999/xhtml', 'canvas');
          canvas.width = window.innerWidth;
          canvas.height = window.innerHeight;
          canvas.getContext('2d').drawWindow(window, 0, 0, canvas.width, canvas.height, 'rgb(255,255,255)');
          return canvas.toDataURL('image/png');
        },

        async openAddonsManager(addonId) {
          const view = `addons://detail/${encodeURIComponent(addonId)}`;
          const window = Services.wm.getMostRecentWindow('mail:3pane');
          // On a loaded machine the driver can ask before tabmail has registered its tab modes
          // ("No such tab mode: contentTab"): wait for the mode the add-ons manager opens in.
          for (let tries = 0; tries < 300 && !window.document.getElementById('tabmail')?.tabModes?.contentTab; tries++) {
            await new Promise((resolve) => window.setTimeout(resolve, 100));
          }
          try {
            await window.openAddonsMgr(view);
            return;
          } catch (error) {
            // 140 ESR opens the tab but then throws (tab.browser is undefined): find the page and load the view.
            for (let tries = 0; tries < 100; tries++) {
              let manager;
              const pong = (subject) => (manager = subject);
              Services.obs.addObserver(pong, 'EM-pong');
              Services.obs.notifyObservers(null, 'EM-ping');
              Services.obs.removeObserver(pong, 'EM-pong');
              if (manager) {
                manager.loadView(view);
                return;
              }
              await new Promise((resolve) => window.setTimeout(resolve, 100));
            }
            throw error;
          }
        },
      },
    };
  }
};
