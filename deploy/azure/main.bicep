// vhd-relay in Azure: the storage account (control queue, poison queue, control table, segment and target
// containers, a lifecycle rule as a safety net for orphaned segments) and relay-worker on Azure Container
// Apps, at least two replicas, scaled out on the control queue's length.
//   az deployment group create --resource-group RG --template-file deploy/azure/main.bicep \
//     --parameters storageAccountName=NAME image=REGISTRY/vhd-relay/relay-worker:0.1.0
// Operating it (sizing, alerts, key rotation, upgrades): docs/operations.md.

@description('Region of every resource.')
param location string = resourceGroup().location

@description('Storage account name: 3 to 24 lowercase letters and digits, unique in Azure.')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Replication of the storage account. Geo-redundant by default: the targets are disaster recovery copies.')
@allowed(['Standard_GRS', 'Standard_RAGRS', 'Standard_GZRS', 'Standard_RAGZRS'])
param storageSku string = 'Standard_GZRS'

@description('Container of the target page blobs (the replicated disks).')
param targetContainerName string = 'disks'

@description('Temp segment blobs older than this many days are deleted: a safety net for segments that no worker will apply (an abandoned generation). Keep it well above any backlog the workers may have.')
@minValue(1)
param segmentRetentionDays int = 14

@description('Which account key the workers\' connection string uses (0: key1, 1: key2). Switch it to rotate the other key without downtime (docs/operations.md).')
@allowed([0, 1])
param activeKeyIndex int = 0

@description('relay-worker image built from deploy/container/Containerfile.')
param image string

@description('Registry server of the image when it needs credentials (e.g. an Azure Container Registry); empty for a public image. The app pulls with its system-assigned identity, which needs the AcrPull role there.')
param registryServer string = ''

@description('Subnet (at least /23, delegated to Microsoft.App/environments) for a zone-redundant environment; empty for an environment without a virtual network (not zone-redundant).')
param infrastructureSubnetId string = ''

@description('Public IP ranges (CIDR) of the on-premises clients. With infrastructureSubnetId set, the account accepts only these and the workers\' subnet (which needs the Microsoft.Storage service endpoint).')
param allowedClientIpRanges array = []

@description('Fewest worker replicas: two, in different fault domains, so that one fault never stops applying.')
@minValue(2)
param minReplicas int = 2

@description('Most worker replicas: one instance applies a target at a time, so more than the number of targets plus one adds nothing.')
@minValue(2)
param maxReplicas int = 10

@description('Control queue messages waiting per replica before another one is added: the segments one worker applies in 30 s, from the worker benchmark (docs/operations.md, "When to scale out").')
param queueLengthPerReplica int = 220

@description('The worker\'s graceful stop bound: on SIGTERM it finishes in-flight writes, saves the cursor and releases its leases within this time.')
param gracefulStopSeconds int = 30

var queueName = 'relay-control'
var tableName = 'relaycontrol'
var segmentContainerName = 'relay-segments'
var metricsPort = 9464

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_43: the name is a parameter; Azure checks its rules at deployment
  // checkov:skip=CKV_AZURE_35: network access is denied by default whenever the workers run in a subnet (infrastructureSubnetId); without one their addresses are not known in advance
  name: storageAccountName
  location: location
  sku: {
    name: storageSku
  }
  kind: 'StorageV2'
  properties: {
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    // The client and the workers authenticate with the account key or SAS (connection strings).
    allowSharedKeyAccess: true
    defaultToOAuthAuthentication: false
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: empty(infrastructureSubnetId) ? 'Allow' : 'Deny'
      ipRules: [for ipRange in allowedClientIpRanges: {
        value: ipRange
        action: 'Allow'
      }]
      virtualNetworkRules: empty(infrastructureSubnetId) ? [] : [
        {
          id: infrastructureSubnetId
          action: 'Allow'
        }
      ]
    }
    accessTier: 'Hot'
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // Deleted segments and recovery points can be recovered for a week.
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource segmentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: segmentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource targetContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: targetContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource controlQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: queueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${queueName}-poison'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource controlTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: tableName
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-stale-segments'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: ['${segmentContainerName}/']
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: segmentRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${storageAccountName}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${storageAccountName}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
    vnetConfiguration: empty(infrastructureSubnetId) ? null : {
      infrastructureSubnetId: infrastructureSubnetId
    }
    zoneRedundant: !empty(infrastructureSubnetId)
  }
}

var connectionString = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[activeKeyIndex].value};EndpointSuffix=${az.environment().suffixes.storage}'

resource worker 'Microsoft.App/containerApps@2024-03-01' = {
  name: 'relay-worker'
  location: location
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      // One revision at a time; an update starts the new replicas before it stops the old ones.
      activeRevisionsMode: 'Single'
      secrets: [
        {
          name: 'storage-connection-string'
          value: connectionString
        }
      ]
      registries: empty(registryServer) ? [] : [
        {
          server: registryServer
          identity: 'system'
        }
      ]
    }
    template: {
      terminationGracePeriodSeconds: gracefulStopSeconds
      containers: [
        {
          name: 'relay-worker'
          image: image
          args: [
            'run'
            '--queue=${queueName}'
            '--table=${tableName}'
            '--container=${segmentContainerName}'
            '--metrics-port=${metricsPort}'
            '--memory-budget=512M'
            '--keep-snapshots=7'
          ]
          env: [
            {
              name: 'AZURE_STORAGE_CONNECTION_STRING'
              secretRef: 'storage-connection-string'
            }
          ]
          // The memory budget (512M) plus room for the rest of the process (docs/operations.md, "Sizing").
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: metricsPort
              }
              periodSeconds: 10
              timeoutSeconds: 5
              failureThreshold: 6
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/healthz'
                port: metricsPort
              }
              periodSeconds: 10
              timeoutSeconds: 5
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'control-queue'
            azureQueue: {
              queueName: controlQueue.name
              queueLength: queueLengthPerReplica
              auth: [
                {
                  secretRef: 'storage-connection-string'
                  triggerParameter: 'connection'
                }
              ]
            }
          }
        ]
      }
    }
  }
}

output storageAccountName string = storage.name
output workerPrincipalId string = worker.identity.principalId
