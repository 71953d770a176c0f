// Generated from config/templates/*.hbs by config/templates/generate.ts. Do not edit.
/* eslint-disable */
// @ts-nocheck: handlebars precompiler output
export const TEMPLATES = {
  'agent.json': {
    '0': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  "bootstrap_expect": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 12, column: 24 }, end: { line: 12, column: 28 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'serverOptions'), 'bootstrapExpect'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 12, column: 22 }, end: { line: 12, column: 60 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "ui_config": { "enabled": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 13, column: 30 }, end: { line: 13, column: 34 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'serverOptions'), 'ui'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 13, column: 28 }, end: { line: 13, column: 53 } },
        })) != null
          ? stack1
          : '') +
        ' },\n  "performance": { "raft_multiplier": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 14, column: 40 }, end: { line: 14, column: 44 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'serverOptions'), 'raftMultiplier'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 14, column: 38 }, end: { line: 14, column: 75 } },
        })) != null
          ? stack1
          : '') +
        ' },\n'
      );
    },
    '1': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  "addresses": { "http": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 20, column: 27 }, end: { line: 20, column: 31 } })
        ).call(alias2, lookupProperty(depth0, 'address'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 20, column: 25 }, end: { line: 20, column: 41 } },
        })) != null
          ? stack1
          : '') +
        ', "grpc": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 20, column: 53 }, end: { line: 20, column: 57 } })
        ).call(alias2, lookupProperty(depth0, 'address'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 20, column: 51 }, end: { line: 20, column: 67 } },
        })) != null
          ? stack1
          : '') +
        ' },\n'
      );
    },
    '2': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '    "grpc_tls": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 26, column: 18 },
            end: { line: 26, column: 22 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'grpcTlsPort'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 26, column: 16 }, end: { line: 26, column: 36 } },
          },
        )) != null
          ? stack1
          : '') +
        ',\n'
      );
    },
    '3': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  "retry_join": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 34, column: 18 },
            end: { line: 34, column: 22 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'retryJoin'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 34, column: 16 }, end: { line: 34, column: 34 } },
          },
        )) != null
          ? stack1
          : '') +
        ',\n'
      );
    },
    '4': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  "retry_interval": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 37, column: 22 },
            end: { line: 37, column: 26 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'retryInterval'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 37, column: 20 }, end: { line: 37, column: 42 } },
          },
        )) != null
          ? stack1
          : '') +
        ',\n'
      );
    },
    '5': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  "log_level": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 40, column: 17 },
            end: { line: 40, column: 21 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'logLevel'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 40, column: 15 }, end: { line: 40, column: 32 } },
          },
        )) != null
          ? stack1
          : '') +
        ',\n'
      );
    },
    '6': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  "encrypt": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 43, column: 15 },
            end: { line: 43, column: 19 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'encrypt'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 43, column: 13 }, end: { line: 43, column: 29 } },
          },
        )) != null
          ? stack1
          : '') +
        ',\n'
      );
    },
    '7': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        ((stack1 = lookupProperty(helpers, 'if').call(
          alias1,
          lookupProperty(lookupProperty(depth0, 'tls'), 'nested'),
          {
            name: 'if',
            hash: {},
            fn: container.program(8, data, 0),
            inverse: container.program(9, data, 0),
            data: data,
            loc: { start: { line: 46, column: 0 }, end: { line: 50, column: 7 } },
          },
        )) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(
          alias1,
          lookupProperty(lookupProperty(depth0, 'tls'), 'autoEncrypt'),
          {
            name: 'if',
            hash: {},
            fn: container.program(10, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 51, column: 0 }, end: { line: 57, column: 7 } },
          },
        )) != null
          ? stack1
          : '')
      );
    },
    '8': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  "tls": { "defaults": { ' +
        ((stack1 = container.invokePartial(
          lookupProperty(partials, 'tls-files'),
          lookupProperty(depth0, 'tls'),
          {
            name: 'tls-files',
            data: data,
            helpers: helpers,
            partials: partials,
            decorators: container.decorators,
          },
        )) != null
          ? stack1
          : '') +
        ' } },\n'
      );
    },
    '9': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  ' +
        ((stack1 = container.invokePartial(
          lookupProperty(partials, 'tls-files'),
          lookupProperty(depth0, 'tls'),
          {
            name: 'tls-files',
            data: data,
            helpers: helpers,
            partials: partials,
            decorators: container.decorators,
          },
        )) != null
          ? stack1
          : '') +
        ',\n'
      );
    },
    '10': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (stack1 = lookupProperty(helpers, 'if').call(
        depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty(depth0, 'isServer'),
        {
          name: 'if',
          hash: {},
          fn: container.program(11, data, 0),
          inverse: container.program(12, data, 0),
          data: data,
          loc: { start: { line: 52, column: 0 }, end: { line: 56, column: 7 } },
        },
      )) != null
        ? stack1
        : '';
    },
    '11': function (container, depth0, helpers, partials, data) {
      return '  "auto_encrypt": { "allow_tls": true },\n';
    },
    '12': function (container, depth0, helpers, partials, data) {
      return '  "auto_encrypt": { "tls": true },\n';
    },
    '13': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  "acl": {\n    "enabled": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 61, column: 17 }, end: { line: 61, column: 21 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'acl'), 'enabled'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 61, column: 15 }, end: { line: 61, column: 35 } },
        })) != null
          ? stack1
          : '') +
        ',\n    "default_policy": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 62, column: 24 }, end: { line: 62, column: 28 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'acl'), 'defaultPolicy'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 62, column: 22 }, end: { line: 62, column: 48 } },
        })) != null
          ? stack1
          : '') +
        ',\n    "tokens": {\n' +
        ((stack1 = lookupProperty(helpers, 'each').call(
          alias2,
          lookupProperty(lookupProperty(depth0, 'acl'), 'tokens'),
          {
            name: 'each',
            hash: {},
            fn: container.program(14, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 64, column: 0 }, end: { line: 66, column: 9 } },
          },
        )) != null
          ? stack1
          : '') +
        '    }\n  },\n'
      );
    },
    '14': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '      ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 65, column: 8 }, end: { line: 65, column: 12 } })
        ).call(alias2, lookupProperty(data, 'key'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 65, column: 6 }, end: { line: 65, column: 19 } },
        })) != null
          ? stack1
          : '') +
        ': ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 65, column: 23 }, end: { line: 65, column: 27 } })
        ).call(alias2, depth0, {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 65, column: 21 }, end: { line: 65, column: 34 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'unless').call(alias2, lookupProperty(data, 'last'), {
          name: 'unless',
          hash: {},
          fn: container.program(15, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 65, column: 34 }, end: { line: 65, column: 63 } },
        })) != null
          ? stack1
          : '') +
        '\n'
      );
    },
    '15': function (container, depth0, helpers, partials, data) {
      return ',';
    },
    '16': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  "services": [\n' +
        ((stack1 = lookupProperty(helpers, 'each').call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'services'),
          {
            name: 'each',
            hash: {},
            fn: container.program(17, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 72, column: 0 }, end: { line: 74, column: 9 } },
          },
        )) != null
          ? stack1
          : '') +
        '  ],\n'
      );
    },
    '17': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '    ' +
        ((stack1 = container.invokePartial(lookupProperty(partials, 'service'), depth0, {
          name: 'service',
          data: data,
          helpers: helpers,
          partials: partials,
          decorators: container.decorators,
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'unless').call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(data, 'last'),
          {
            name: 'unless',
            hash: {},
            fn: container.program(15, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 73, column: 17 }, end: { line: 73, column: 46 } },
          },
        )) != null
          ? stack1
          : '') +
        '\n'
      );
    },
    compiler: [8, '>= 4.3.0'],
    main: function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '{\n  "datacenter": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 8, column: 18 }, end: { line: 8, column: 22 } })
        ).call(alias2, lookupProperty(depth0, 'datacenter'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 8, column: 16 }, end: { line: 8, column: 35 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "node_name": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 9, column: 17 }, end: { line: 9, column: 21 } })
        ).call(alias2, lookupProperty(depth0, 'nodeName'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 9, column: 15 }, end: { line: 9, column: 32 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "server": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 10, column: 14 }, end: { line: 10, column: 18 } })
        ).call(alias2, lookupProperty(depth0, 'isServer'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 10, column: 12 }, end: { line: 10, column: 29 } },
        })) != null
          ? stack1
          : '') +
        ',\n' +
        ((stack1 = lookupProperty(helpers, 'if').call(
          alias2,
          lookupProperty(depth0, 'serverOptions'),
          {
            name: 'if',
            hash: {},
            fn: container.program(0, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 11, column: 0 }, end: { line: 15, column: 7 } },
          },
        )) != null
          ? stack1
          : '') +
        '  "data_dir": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 16, column: 16 }, end: { line: 16, column: 20 } })
        ).call(alias2, lookupProperty(depth0, 'dataDir'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 16, column: 14 }, end: { line: 16, column: 30 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "bind_addr": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 17, column: 17 }, end: { line: 17, column: 21 } })
        ).call(alias2, lookupProperty(depth0, 'address'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 17, column: 15 }, end: { line: 17, column: 31 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "client_addr": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 18, column: 19 }, end: { line: 18, column: 23 } })
        ).call(alias2, lookupProperty(depth0, 'clientAddr'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 18, column: 17 }, end: { line: 18, column: 36 } },
        })) != null
          ? stack1
          : '') +
        ',\n' +
        ((stack1 = lookupProperty(helpers, 'unless').call(
          alias2,
          lookupProperty(depth0, 'isServer'),
          {
            name: 'unless',
            hash: {},
            fn: container.program(1, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 19, column: 0 }, end: { line: 21, column: 11 } },
          },
        )) != null
          ? stack1
          : '') +
        '  "ports": {\n    "http": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 23, column: 14 }, end: { line: 23, column: 18 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'ports'), 'http'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 23, column: 12 }, end: { line: 23, column: 31 } },
        })) != null
          ? stack1
          : '') +
        ',\n    "grpc": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 24, column: 14 }, end: { line: 24, column: 18 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'ports'), 'grpc'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 24, column: 12 }, end: { line: 24, column: 31 } },
        })) != null
          ? stack1
          : '') +
        ',\n' +
        ((stack1 = lookupProperty(helpers, 'if').call(
          alias2,
          lookupProperty(depth0, 'grpcTlsPort'),
          {
            name: 'if',
            hash: {},
            fn: container.program(2, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 25, column: 0 }, end: { line: 27, column: 7 } },
          },
        )) != null
          ? stack1
          : '') +
        '    "sidecar_min_port": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 28, column: 26 }, end: { line: 28, column: 30 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'ports'), 'sidecarMinPort'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 28, column: 24 }, end: { line: 28, column: 53 } },
        })) != null
          ? stack1
          : '') +
        ',\n    "sidecar_max_port": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 29, column: 26 }, end: { line: 29, column: 30 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'ports'), 'sidecarMaxPort'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 29, column: 24 }, end: { line: 29, column: 53 } },
        })) != null
          ? stack1
          : '') +
        '\n  },\n  "connect": { "enabled": true },\n  "enable_central_service_config": true,\n' +
        ((stack1 = lookupProperty(helpers, 'if').call(alias2, lookupProperty(depth0, 'retryJoin'), {
          name: 'if',
          hash: {},
          fn: container.program(3, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 33, column: 0 }, end: { line: 35, column: 7 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(
          alias2,
          lookupProperty(depth0, 'retryInterval'),
          {
            name: 'if',
            hash: {},
            fn: container.program(4, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 36, column: 0 }, end: { line: 38, column: 7 } },
          },
        )) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(alias2, lookupProperty(depth0, 'logLevel'), {
          name: 'if',
          hash: {},
          fn: container.program(5, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 39, column: 0 }, end: { line: 41, column: 7 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(alias2, lookupProperty(depth0, 'encrypt'), {
          name: 'if',
          hash: {},
          fn: container.program(6, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 42, column: 0 }, end: { line: 44, column: 7 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(alias2, lookupProperty(depth0, 'tls'), {
          name: 'if',
          hash: {},
          fn: container.program(7, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 45, column: 0 }, end: { line: 58, column: 7 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(alias2, lookupProperty(depth0, 'acl'), {
          name: 'if',
          hash: {},
          fn: container.program(13, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 59, column: 0 }, end: { line: 69, column: 7 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(alias2, lookupProperty(depth0, 'services'), {
          name: 'if',
          hash: {},
          fn: container.program(16, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 70, column: 0 }, end: { line: 76, column: 7 } },
        })) != null
          ? stack1
          : '') +
        '  "leave_on_terminate": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 77, column: 26 }, end: { line: 77, column: 30 } })
        ).call(alias2, lookupProperty(depth0, 'leaveOnTerminate'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 77, column: 24 }, end: { line: 77, column: 49 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "disable_update_check": true\n}\n'
      );
    },
    usePartial: true,
    useData: true,
  },
  'ingress-gateway.json': {
    '0': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '    {\n      "Port": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 8, column: 16 }, end: { line: 8, column: 20 } })
        ).call(alias2, lookupProperty(depth0, 'port'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 8, column: 14 }, end: { line: 8, column: 27 } },
        })) != null
          ? stack1
          : '') +
        ',\n      "Protocol": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 9, column: 20 }, end: { line: 9, column: 24 } })
        ).call(alias2, lookupProperty(depth0, 'protocol'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 9, column: 18 }, end: { line: 9, column: 35 } },
        })) != null
          ? stack1
          : '') +
        ',\n      "Services": [\n' +
        ((stack1 = lookupProperty(helpers, 'each').call(
          alias2,
          lookupProperty(depth0, 'services'),
          {
            name: 'each',
            hash: {},
            fn: container.program(1, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 11, column: 0 }, end: { line: 13, column: 9 } },
          },
        )) != null
          ? stack1
          : '') +
        '      ]\n    }' +
        ((stack1 = lookupProperty(helpers, 'unless').call(alias2, lookupProperty(data, 'last'), {
          name: 'unless',
          hash: {},
          fn: container.program(3, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 15, column: 5 }, end: { line: 15, column: 34 } },
        })) != null
          ? stack1
          : '') +
        '\n'
      );
    },
    '1': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '        { "Name": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 12, column: 20 },
            end: { line: 12, column: 24 },
          })
        ).call(alias1, lookupProperty(depth0, 'name'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 12, column: 18 }, end: { line: 12, column: 31 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(alias1, lookupProperty(depth0, 'hosts'), {
          name: 'if',
          hash: {},
          fn: container.program(2, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 12, column: 31 }, end: { line: 12, column: 76 } },
        })) != null
          ? stack1
          : '') +
        ' }' +
        ((stack1 = lookupProperty(helpers, 'unless').call(alias1, lookupProperty(data, 'last'), {
          name: 'unless',
          hash: {},
          fn: container.program(3, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 12, column: 78 }, end: { line: 12, column: 107 } },
        })) != null
          ? stack1
          : '') +
        '\n'
      );
    },
    '2': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        ', "Hosts": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 12, column: 57 },
            end: { line: 12, column: 61 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'hosts'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 12, column: 55 }, end: { line: 12, column: 69 } },
          },
        )) != null
          ? stack1
          : '')
      );
    },
    '3': function (container, depth0, helpers, partials, data) {
      return ',';
    },
    compiler: [8, '>= 4.3.0'],
    main: function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '{\n  "Kind": "ingress-gateway",\n  "Name": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 4, column: 12 },
            end: { line: 4, column: 16 },
          })
        ).call(alias1, lookupProperty(depth0, 'name'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 4, column: 10 }, end: { line: 4, column: 23 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "Listeners": [\n' +
        ((stack1 = lookupProperty(helpers, 'each').call(
          alias1,
          lookupProperty(depth0, 'listeners'),
          {
            name: 'each',
            hash: {},
            fn: container.program(0, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 6, column: 0 }, end: { line: 16, column: 9 } },
          },
        )) != null
          ? stack1
          : '') +
        '  ]\n}\n'
      );
    },
    useData: true,
  },
  'service-defaults.json': {
    compiler: [8, '>= 4.3.0'],
    main: function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '{\n  "Kind": "service-defaults",\n  "Name": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 4, column: 12 }, end: { line: 4, column: 16 } })
        ).call(alias2, lookupProperty(depth0, 'name'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 4, column: 10 }, end: { line: 4, column: 23 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "Protocol": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 5, column: 16 }, end: { line: 5, column: 20 } })
        ).call(alias2, lookupProperty(depth0, 'protocol'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 5, column: 14 }, end: { line: 5, column: 31 } },
        })) != null
          ? stack1
          : '') +
        '\n}\n'
      );
    },
    useData: true,
  },
  'service.json': {
    '0': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  , "token": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 7, column: 15 },
            end: { line: 7, column: 19 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'token'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 7, column: 13 }, end: { line: 7, column: 27 } },
          },
        )) != null
          ? stack1
          : '') +
        '\n'
      );
    },
    '1': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  , "check": {\n    "http": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 11, column: 14 }, end: { line: 11, column: 18 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'check'), 'http'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 11, column: 12 }, end: { line: 11, column: 31 } },
        })) != null
          ? stack1
          : '') +
        ',\n    "interval": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 12, column: 18 }, end: { line: 12, column: 22 } })
        ).call(alias2, lookupProperty(lookupProperty(depth0, 'check'), 'interval'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 12, column: 16 }, end: { line: 12, column: 39 } },
        })) != null
          ? stack1
          : '') +
        '\n' +
        ((stack1 = lookupProperty(helpers, 'if').call(
          alias2,
          lookupProperty(lookupProperty(depth0, 'check'), 'timeout'),
          {
            name: 'if',
            hash: {},
            fn: container.program(2, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 13, column: 0 }, end: { line: 15, column: 7 } },
          },
        )) != null
          ? stack1
          : '') +
        '  }\n'
      );
    },
    '2': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '    , "timeout": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 14, column: 19 },
            end: { line: 14, column: 23 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(lookupProperty(depth0, 'check'), 'timeout'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 14, column: 17 }, end: { line: 14, column: 39 } },
          },
        )) != null
          ? stack1
          : '') +
        '\n'
      );
    },
    '3': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '  , "connect": {\n    "sidecar_service": {\n      "proxy": {\n        "local_service_address": "127.0.0.1"\n' +
        ((stack1 = lookupProperty(helpers, 'if').call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(lookupProperty(depth0, 'sidecar'), 'upstreams'),
          {
            name: 'if',
            hash: {},
            fn: container.program(4, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 23, column: 0 }, end: { line: 35, column: 7 } },
          },
        )) != null
          ? stack1
          : '') +
        '      }\n    }\n  }\n'
      );
    },
    '4': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '        , "upstreams": [\n' +
        ((stack1 = lookupProperty(helpers, 'each').call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(lookupProperty(depth0, 'sidecar'), 'upstreams'),
          {
            name: 'each',
            hash: {},
            fn: container.program(5, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 25, column: 0 }, end: { line: 33, column: 9 } },
          },
        )) != null
          ? stack1
          : '') +
        '        ]\n'
      );
    },
    '5': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '          {\n            "destination_name": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 27, column: 34 }, end: { line: 27, column: 38 } })
        ).call(alias2, lookupProperty(depth0, 'service'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 27, column: 32 }, end: { line: 27, column: 48 } },
        })) != null
          ? stack1
          : '') +
        ',\n            "local_bind_port": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 28, column: 33 }, end: { line: 28, column: 37 } })
        ).call(alias2, lookupProperty(depth0, 'localPort'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 28, column: 31 }, end: { line: 28, column: 49 } },
        })) != null
          ? stack1
          : '') +
        '\n' +
        ((stack1 = lookupProperty(helpers, 'if').call(
          alias2,
          lookupProperty(depth0, 'datacenter'),
          {
            name: 'if',
            hash: {},
            fn: container.program(6, data, 0),
            inverse: container.noop,
            data: data,
            loc: { start: { line: 29, column: 0 }, end: { line: 31, column: 7 } },
          },
        )) != null
          ? stack1
          : '') +
        '          }' +
        ((stack1 = lookupProperty(helpers, 'unless').call(alias2, lookupProperty(data, 'last'), {
          name: 'unless',
          hash: {},
          fn: container.program(7, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 32, column: 11 }, end: { line: 32, column: 40 } },
        })) != null
          ? stack1
          : '') +
        '\n'
      );
    },
    '6': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '            , "datacenter": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 30, column: 30 },
            end: { line: 30, column: 34 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'datacenter'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 30, column: 28 }, end: { line: 30, column: 47 } },
          },
        )) != null
          ? stack1
          : '') +
        '\n'
      );
    },
    '7': function (container, depth0, helpers, partials, data) {
      return ',';
    },
    compiler: [8, '>= 4.3.0'],
    main: function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '{\n  "id": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 3, column: 10 }, end: { line: 3, column: 14 } })
        ).call(alias2, lookupProperty(depth0, 'id'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 3, column: 8 }, end: { line: 3, column: 19 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "name": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 4, column: 12 }, end: { line: 4, column: 16 } })
        ).call(alias2, lookupProperty(depth0, 'name'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 4, column: 10 }, end: { line: 4, column: 23 } },
        })) != null
          ? stack1
          : '') +
        ',\n  "port": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 5, column: 12 }, end: { line: 5, column: 16 } })
        ).call(alias2, lookupProperty(depth0, 'port'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 5, column: 10 }, end: { line: 5, column: 23 } },
        })) != null
          ? stack1
          : '') +
        '\n' +
        ((stack1 = lookupProperty(helpers, 'if').call(alias2, lookupProperty(depth0, 'token'), {
          name: 'if',
          hash: {},
          fn: container.program(0, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 6, column: 0 }, end: { line: 8, column: 7 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(alias2, lookupProperty(depth0, 'check'), {
          name: 'if',
          hash: {},
          fn: container.program(1, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 9, column: 0 }, end: { line: 17, column: 7 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(alias2, lookupProperty(depth0, 'sidecar'), {
          name: 'if',
          hash: {},
          fn: container.program(3, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 18, column: 0 }, end: { line: 39, column: 7 } },
        })) != null
          ? stack1
          : '') +
        '}\n'
      );
    },
    useData: true,
  },
  'tls-files.json': {
    '0': function (container, depth0, helpers, partials, data) {
      var stack1,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '"ca_file": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          container.strict(depth0, 'json', {
            start: { line: 2, column: 27 },
            end: { line: 2, column: 31 },
          })
        ).call(
          depth0 != null ? depth0 : container.nullContext || {},
          lookupProperty(depth0, 'caFile'),
          {
            name: 'json',
            hash: {},
            data: data,
            loc: { start: { line: 2, column: 25 }, end: { line: 2, column: 40 } },
          },
        )) != null
          ? stack1
          : '') +
        ', '
      );
    },
    '1': function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = container.strict,
        alias2 = depth0 != null ? depth0 : container.nullContext || {},
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        '"cert_file": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 3, column: 31 }, end: { line: 3, column: 35 } })
        ).call(alias2, lookupProperty(depth0, 'certFile'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 3, column: 29 }, end: { line: 3, column: 46 } },
        })) != null
          ? stack1
          : '') +
        ', "key_file": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias1(depth0, 'json', { start: { line: 3, column: 62 }, end: { line: 3, column: 66 } })
        ).call(alias2, lookupProperty(depth0, 'keyFile'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 3, column: 60 }, end: { line: 3, column: 76 } },
        })) != null
          ? stack1
          : '') +
        ', '
      );
    },
    compiler: [8, '>= 4.3.0'],
    main: function (container, depth0, helpers, partials, data) {
      var stack1,
        alias1 = depth0 != null ? depth0 : container.nullContext || {},
        alias2 = container.strict,
        lookupProperty =
          container.lookupProperty ||
          function (parent, propertyName) {
            if (Object.prototype.hasOwnProperty.call(parent, propertyName)) {
              return parent[propertyName];
            }
            return undefined;
          };

      return (
        ((stack1 = lookupProperty(helpers, 'if').call(alias1, lookupProperty(depth0, 'caFile'), {
          name: 'if',
          hash: {},
          fn: container.program(0, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 2, column: 0 }, end: { line: 2, column: 50 } },
        })) != null
          ? stack1
          : '') +
        ((stack1 = lookupProperty(helpers, 'if').call(alias1, lookupProperty(depth0, 'certFile'), {
          name: 'if',
          hash: {},
          fn: container.program(1, data, 0),
          inverse: container.noop,
          data: data,
          loc: { start: { line: 3, column: 0 }, end: { line: 3, column: 86 } },
        })) != null
          ? stack1
          : '') +
        '"verify_incoming": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias2(depth0, 'json', { start: { line: 4, column: 21 }, end: { line: 4, column: 25 } })
        ).call(alias1, lookupProperty(depth0, 'verifyIncoming'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 4, column: 19 }, end: { line: 4, column: 42 } },
        })) != null
          ? stack1
          : '') +
        ', "verify_outgoing": ' +
        ((stack1 = (
          lookupProperty(helpers, 'json') ||
          alias2(depth0, 'json', { start: { line: 4, column: 65 }, end: { line: 4, column: 69 } })
        ).call(alias1, lookupProperty(depth0, 'verifyOutgoing'), {
          name: 'json',
          hash: {},
          data: data,
          loc: { start: { line: 4, column: 63 }, end: { line: 4, column: 86 } },
        })) != null
          ? stack1
          : '') +
        '\n'
      );
    },
    useData: true,
  },
};
