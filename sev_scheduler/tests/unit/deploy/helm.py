#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""helm-toolkit's ``to_oslo_conf``, in Python, for the chart values' test.

The OpenStack-Helm nova chart renders ``conf.nova`` to nova.conf with
``{{ include "helm-toolkit.utils.to_oslo_conf" .Values.conf.nova }}``
(``nova/templates/configmap-etc.yaml``). The template
(``helm-toolkit/templates/utils/_to_oslo_conf.tpl`` in
openstack/openstack-helm, read at commit
0ee5adeffcaefb6f7a78bb23bf845414672e6827) does, rendered by Go's
text/template:

- ``range`` over the sections, then over each section's keys: Go ranges
  over a map in sorted key order;
- a section that is not a map is left out; a section is ``[name]`` then
  one ``key = value`` line per key, with no blank line between sections;
- a list value is one line, its items joined by commas
  (``joinListWithComma``);
- a map value with ``type: multistring`` is one line per item of
  ``values`` (oslo.config's multi-valued options), with ``type: csv`` one
  line of its ``values`` joined by commas, with another type nothing;
- a null value is left out (the template's ``kindIs "invalid"`` guard;
  before it, Helm wrote "<no value>");
- anything else is printed as Go's ``fmt`` prints it.

Helm reads values through JSON, so every number is a float64, printed as
``%v`` prints one: the shortest form that reads back, with an exponent
below 1e-4 and from 1e+06 (``1.0`` -> ``1``, ``1000000`` -> ``1e+06``).
"""

import decimal


class RenderError(ValueError):
    """A value the template would not render as an option."""


def go_value(value):
    """A scalar as Go's ``fmt.Sprint`` prints Helm's value of it."""
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    if isinstance(value, str):
        return value
    raise RenderError('%r is not a scalar: the template would print Go\'s '
                      'form of it' % (value,))


def _go_float(number):
    """``strconv.FormatFloat(number, 'g', -1, 64)``, as ``%v`` uses it."""
    if number != number:
        return 'NaN'
    if number in (float('inf'), float('-inf')):
        return '+Inf' if number > 0 else '-Inf'
    if number == 0:
        return '0'
    # repr() is the shortest form that reads back, as Go's precision -1.
    _, digits, exponent = decimal.Decimal(
        repr(abs(number))).normalize().as_tuple()
    text = ''.join(map(str, digits))
    point = len(text) + exponent        # digits before the decimal point
    exp = point - 1
    prefix = '-' if number < 0 else ''
    # strconv: with the shortest precision, %e below 1e-4 and from 1e+06.
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ('.' + text[1:] if len(text) > 1 else '')
        return '%s%se%s%02d' % (prefix, mantissa, '-' if exp < 0 else '+',
                                abs(exp))
    if point <= 0:
        return '%s0.%s%s' % (prefix, '0' * -point, text)
    if point >= len(text):
        return prefix + text + '0' * (point - len(text))
    return '%s%s.%s' % (prefix, text[:point], text[point:])


def to_oslo_conf(conf):
    """The nova.conf text that ``to_oslo_conf`` renders from CONF."""
    lines = []
    for section in sorted(conf):
        values = conf[section]
        if not isinstance(values, dict):
            continue
        lines.append('[%s]' % section)
        for key in sorted(values):
            value = values[key]
            if isinstance(value, list):
                lines.append('%s = %s' % (key, ','.join(
                    go_value(item) for item in value)))
            elif isinstance(value, dict):
                kind = value.get('type')
                if kind == 'multistring':
                    lines.extend('%s = %s' % (key, go_value(item))
                                 for item in value['values'])
                elif kind == 'csv':
                    lines.append('%s = %s' % (key, ','.join(
                        go_value(item) for item in value['values'])))
                else:
                    raise RenderError(
                        '[%s] %s: a map renders only with type multistring '
                        'or csv, not %r: the key would be left out'
                        % (section, key, kind))
            elif value is None:
                continue
            else:
                lines.append('%s = %s' % (key, go_value(value)))
    return ''.join(line + '\n' for line in lines)
