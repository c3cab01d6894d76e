import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadDatabricksCatalog } from '../../../src/adapters/databricks-wiring.js';
import { azureEngineInstances, azureFamilyOf } from '../../../src/domain/databricks-prediction.js';

test('azureFamilyOf: family and size of Azure sizes, Arm and GPU sizes told apart', () => {
  assert.equal(azureFamilyOf('Standard_E8ds_v4'), { family: 'Eds_v4', size: '8', arm: false, gpu: false });
  assert.equal(azureFamilyOf('Standard_D13_v2'), { family: 'D_v2', size: '13', arm: false, gpu: false });
  assert.equal(azureFamilyOf('Standard_L16s'), { family: 'Ls', size: '16', arm: false, gpu: false });
  assert.is(azureFamilyOf('Standard_D16pds_v6')?.arm, true);
  assert.is(azureFamilyOf('Standard_NC24ads_A100_v4')?.gpu, true);
  assert.is(azureFamilyOf('Standard_NC4as_T4_v3')?.family, 'NCas_v3');
  assert.is(azureFamilyOf('m5.xlarge'), undefined);
});

test('azureEngineInstances: x86 CPU node types with a VM price, priced VM + Jobs DBUs', () => {
  const catalog = loadDatabricksCatalog('azure');
  const specs = azureEngineInstances(catalog);
  assert.ok(specs.length > 150, String(specs.length));
  assert.ok(specs.every((s) => s.instanceType.startsWith('Standard_') && s.arch === 'x86_64'));
  assert.not.ok(specs.some((s) => /^Standard_N|pds_|ps_/.test(s.instanceType)), 'no GPU or Arm sizes');
  const e8 = specs.find((s) => s.instanceType === 'Standard_E8ds_v4')!;
  const row = catalog.nodeTypes.find((n) => n.nodeTypeId === 'Standard_E8ds_v4')!;
  assert.is(e8.onDemandUsdPerHour, row.vmUsdPerHour);
  assert.is(e8.emrUsdPerHour, Math.round(row.dbuPerHour * catalog.dbuPrices.premium!.jobs! * 10_000) / 10_000);
  const photon = azureEngineInstances(catalog, true).find((s) => s.instanceType === 'Standard_E8ds_v4')!;
  assert.ok(photon.emrUsdPerHour > e8.emrUsdPerHour, 'Photon burns more DBUs');
  const kept = azureEngineInstances(catalog, false, 'premium', ['Standard_D16pds_v6']).find((s) => s.instanceType === 'Standard_D16pds_v6');
  assert.is(kept?.arch, 'arm64', 'the basis run\'s own Arm node type stays, marked arm64');
});

test.run();
