DROP TABLE delivery_anomalies;
